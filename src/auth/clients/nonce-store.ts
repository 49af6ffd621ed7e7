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

/**
 * The nonces of RFC 9421 signatures, per key, until their signature's window ends. In PostgreSQL, so a nonce
 * used on one replica is refused on every other. One round trip per request; expired rows are purged in bounded
 * batches as new ones arrive (the `expires_at` index keeps that cheap).
 */
@Injectable()
export class NonceStore {
  private readonly logger = new Logger(NonceStore.name);
  private sincePurge = 0;
  private purging: Promise<unknown> | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Records `nonce` for `keyId` until `expiresAt`: true when it was new (the request may proceed), false when it
   * is still remembered (a replay). A row whose time has passed but is not purged yet counts as new again.
   */
  async remember(keyId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    if (nonce.length > MAX_NONCE_LENGTH) throw new RangeError(`a nonce is at most ${MAX_NONCE_LENGTH} characters`);
    const rows = await query<{ key_id: string }>(
      this.db,
      `INSERT INTO signature_nonces (key_id, nonce, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE signature_nonces.expires_at <= $4
       RETURNING key_id`,
      [keyId, nonce, expiresAt, new Date(this.clock.now())],
    );
    if (++this.sincePurge >= PURGE_EVERY && !this.purging) {
      this.sincePurge = 0;
      this.purging = this.purgeExpired()
        .catch((error: unknown) => this.logger.warn(`purge of expired signature nonces failed: ${errorText(error)}`))
        .finally(() => (this.purging = undefined));
    }
    return rows.length === 1;
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
