import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { errorText } from '../../common/errors/error-text.js';
import { execute, query } from '../../database/sql.js';

/** Longest nonce stored; the verifier refuses longer ones before asking (remember() throws on them). */
export const MAX_NONCE_LENGTH = 256;
/** Every this many remembered nonces, one bounded purge of expired rows runs in the background. */
const PURGE_EVERY = 500;
const PURGE_BATCH = 5000;

/** Most nonces written by one statement (arrays of this size are cheap to bind). */
const MAX_GROUP = 500;
/** Statements in flight at once: a second one takes the nonces that arrive while the first is on its way. */
const MAX_IN_FLIGHT = 2;

/** One key's nonce as a map key (a key id never contains a newline: it is ours, `key_` and base64url). */
const nonceId = (keyId: string, nonce: string) => `${keyId}\n${nonce}`;

interface PendingNonce {
  keyId: string;
  nonce: string;
  expiresAt: Date;
  resolve(isNew: boolean): void;
  reject(error: unknown): void;
}

/**
 * The nonces of RFC 9421 signatures, per key, until their signature's window ends. In PostgreSQL, so a nonce
 * used on one replica is refused on every other. Group commit: at most two statements in flight per process, and
 * every nonce arriving meanwhile goes in the next one — an idle service answers after one round trip, a busy one
 * pays a round trip per batch of requests instead of one each. Expired rows are purged in bounded batches as new ones
 * arrive (the `expires_at` index keeps that cheap).
 */
@Injectable()
export class NonceStore {
  private readonly logger = new Logger(NonceStore.name);
  private sincePurge = 0;
  private purging: Promise<unknown> | undefined;
  private waiting: PendingNonce[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Records `nonce` for `keyId` until `expiresAt`: true when it was new (the request may proceed), false when it
   * is still remembered (a replay). A row whose time has passed but is not purged yet counts as new again.
   */
  remember(keyId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    if (nonce.length > MAX_NONCE_LENGTH) return Promise.reject(new RangeError(`a nonce is at most ${MAX_NONCE_LENGTH} characters`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ keyId, nonce, expiresAt, resolve, reject });
      this.schedule();
    });
  }

  /** The next write, once the current one (if any) is done and the requests of this turn of the event loop are in. */
  private schedule(): void {
    if (this.inFlight >= MAX_IN_FLIGHT || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private async write(): Promise<void> {
    if (this.inFlight >= MAX_IN_FLIGHT || this.waiting.length === 0) return;
    this.inFlight++;
    const group = this.waiting.splice(0, MAX_GROUP);
    try {
      // The same nonce twice in one group: the first is the attempt, the others are replays of it.
      const first = new Map<string, PendingNonce>();
      for (const pending of group) {
        const id = nonceId(pending.keyId, pending.nonce);
        if (!first.has(id)) first.set(id, pending);
      }
      const attempts = [...first.values()];
      const rows = await query<{ key_id: string; nonce: string }>(
        this.db,
        `INSERT INTO signature_nonces (key_id, nonce, expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
         ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
           WHERE signature_nonces.expires_at <= $4
         RETURNING key_id, nonce`,
        [attempts.map((a) => a.keyId), attempts.map((a) => a.nonce), attempts.map((a) => a.expiresAt), new Date(this.clock.now())],
      );
      const stored = new Set(rows.map((row) => nonceId(row.key_id, row.nonce)));
      for (const pending of group) {
        const id = nonceId(pending.keyId, pending.nonce);
        pending.resolve(first.get(id) === pending && stored.has(id));
      }
      this.purgeNowAndThen(group.length);
    } catch (error) {
      for (const pending of group) pending.reject(error);
    } finally {
      this.inFlight--;
      if (this.waiting.length > 0) this.schedule();
    }
  }

  private purgeNowAndThen(added: number): void {
    this.sincePurge += added;
    if (this.sincePurge < PURGE_EVERY || this.purging) return;
    this.sincePurge = 0;
    this.purging = this.purgeExpired()
      .catch((error: unknown) => this.logger.warn(`purge of expired signature nonces failed: ${errorText(error)}`))
      .finally(() => (this.purging = undefined));
  }

  /** Deletes up to `limit` expired nonces; answers how many. */
  purgeExpired(limit = PURGE_BATCH): Promise<number> {
    return execute(
      this.db,
      `DELETE FROM signature_nonces WHERE ctid IN (SELECT ctid FROM signature_nonces WHERE expires_at <= $1 LIMIT $2)`,
      [new Date(this.clock.now()), limit],
    );
  }
}
