import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two tables of the jobs API, shared by every replica:
 * - `client_rate_limits`: the per-client request budgets (sync, batch,
 *   polling), counted by `rate-limiter-flexible`'s RateLimiterPostgres — one
 *   row per client, scope and window, its points and its expiry (epoch ms),
 *   the columns the library expects; created here, not by the library.
 * - `idempotency_keys`: one row per client and Idempotency-Key: the request's
 *   fingerprint, whether its first attempt is still running (and until when
 *   its lease holds), and once it succeeded the answer that a retry replays.
 */
export class ClientRateLimitsAndIdempotency1763790600000 implements MigrationInterface {
  name = 'ClientRateLimitsAndIdempotency1763790600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE client_rate_limits (
        key    varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
    await db.query(`
      CREATE TABLE idempotency_keys (
        client_id        text         NOT NULL REFERENCES api_clients(id) ON DELETE CASCADE,
        idempotency_key  varchar(255) NOT NULL,
        fingerprint      bytea        NOT NULL,
        state            varchar(16)  NOT NULL CHECK (state IN ('in_flight', 'completed')),
        locked_until     timestamptz,
        response_status  integer,
        response_body    bytea,
        response_headers jsonb,
        created_at       timestamptz  NOT NULL,
        expires_at       timestamptz  NOT NULL,
        PRIMARY KEY (client_id, idempotency_key)
      )`);
    await db.query(`CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS idempotency_keys`);
    await db.query(`DROP TABLE IF EXISTS client_rate_limits`);
  }
}
