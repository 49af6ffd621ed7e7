import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { execute, query, queryOne } from '../../database/sql.js';

/** The answer a completed key replays. */
export interface StoredAnswer {
  status: number;
  /** The JSON body as it was sent, or null for an empty body. */
  body: Buffer | null;
  headers: Record<string, string>;
}

/** What claiming a key found. */
export type ClaimOutcome =
  /** The key is this request's: run it. `lockedUntil` is the claim's token for complete() and release(). */
  | { kind: 'claimed'; lockedUntil: Date }
  /** The key belongs to another request (other method, path or body). */
  | { kind: 'reused' }
  /** The first request with this key is still running. */
  | { kind: 'in-flight'; lockedUntil: Date }
  /** The first request finished: answer what it answered. */
  | { kind: 'completed'; answer: StoredAnswer };

export interface ClaimArgs {
  clientId: string;
  key: string;
  fingerprint: Buffer;
  now: number;
  leaseMs: number;
  ttlMs: number;
}

interface KeyRow {
  fingerprint: Buffer;
  state: 'in_flight' | 'completed';
  locked_until: Date | null;
  response_status: number | null;
  response_body: Buffer | null;
  response_headers: Record<string, string> | null;
}

/** A row deleted between our INSERT and our SELECT (its request failed) is claimed again, a few times at most. */
const CLAIM_ATTEMPTS = 3;

/**
 * `idempotency_keys`: one row per client and key. Times come from the
 * application Clock (passed in), so expiry and leases follow a ManualClock
 * in tests; every replica sees the same rows.
 */
@Injectable()
export class IdempotencyStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One round trip for a new key: INSERT … ON CONFLICT takes the key when it
   * is free, expired (treated as absent), or held by an attempt of the same
   * request whose lease ran out (that attempt died; this one takes over).
   * Otherwise a second query reads the row to say why not.
   */
  async claim(args: ClaimArgs): Promise<ClaimOutcome> {
    const now = new Date(args.now);
    const lockedUntil = new Date(args.now + args.leaseMs);
    for (let attempt = 1; ; attempt++) {
      const claimed = await query<{ claimed: boolean }>(
        this.dataSource,
        `INSERT INTO idempotency_keys AS k (client_id, idempotency_key, fingerprint, state, locked_until, created_at, expires_at)
         VALUES ($1, $2, $3, 'in_flight', $4, $5, $6)
         ON CONFLICT (client_id, idempotency_key) DO UPDATE
            SET fingerprint = EXCLUDED.fingerprint, state = 'in_flight', locked_until = EXCLUDED.locked_until,
                response_status = NULL, response_body = NULL, response_headers = NULL,
                created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
          WHERE k.expires_at <= EXCLUDED.created_at
             OR (k.state = 'in_flight' AND k.locked_until <= EXCLUDED.created_at AND k.fingerprint = EXCLUDED.fingerprint)
         RETURNING true AS claimed`,
        [args.clientId, args.key, args.fingerprint, lockedUntil, now, new Date(args.now + args.ttlMs)],
      );
      if (claimed.length > 0) return { kind: 'claimed', lockedUntil };

      const row = await queryOne<KeyRow>(
        this.dataSource,
        `SELECT fingerprint, state, locked_until, response_status, response_body, response_headers
           FROM idempotency_keys WHERE client_id = $1 AND idempotency_key = $2 AND expires_at > $3`,
        [args.clientId, args.key, now],
      );
      if (!row) {
        if (attempt < CLAIM_ATTEMPTS) continue;
        return { kind: 'in-flight', lockedUntil }; // the key keeps changing hands: let the client come back
      }
      if (!row.fingerprint.equals(args.fingerprint)) return { kind: 'reused' };
      if (row.state === 'in_flight') return { kind: 'in-flight', lockedUntil: row.locked_until ?? lockedUntil };
      return {
        kind: 'completed',
        answer: { status: row.response_status ?? 200, body: row.response_body, headers: row.response_headers ?? {} },
      };
    }
  }

  /** Stores the answer of a claim still held (`lockedUntil` is its token): false when the claim was lost meanwhile. */
  async complete(clientId: string, key: string, lockedUntil: Date, answer: StoredAnswer): Promise<boolean> {
    const changed = await execute(
      this.dataSource,
      `UPDATE idempotency_keys
          SET state = 'completed', locked_until = NULL, response_status = $4, response_body = $5, response_headers = $6
        WHERE client_id = $1 AND idempotency_key = $2 AND state = 'in_flight' AND locked_until = $3`,
      [clientId, key, lockedUntil, answer.status, answer.body, JSON.stringify(answer.headers)],
    );
    return changed === 1;
  }

  /** Gives a claim up (its request failed): the client may use the key again, for this or another request. */
  async release(clientId: string, key: string, lockedUntil: Date): Promise<void> {
    await execute(
      this.dataSource,
      `DELETE FROM idempotency_keys WHERE client_id = $1 AND idempotency_key = $2 AND state = 'in_flight' AND locked_until = $3`,
      [clientId, key, lockedUntil],
    );
  }

  /** Deletes at most `limit` expired rows, oldest first (by the expires_at index); returns how many. */
  async purgeExpired(now: number, limit: number): Promise<number> {
    return execute(
      this.dataSource,
      `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2))`,
      [new Date(now), limit],
    );
  }
}
