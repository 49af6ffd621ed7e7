import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook delivery planning and history. Columns are only added, so the seed's
 * SQL over `webhook_deliveries` (reference 002) keeps working unchanged.
 *
 * - `job_round` + the unique index make enqueueing idempotent: one row per
 *   job, event, terminal timestamp, URL and part (the URL hashed, since a
 *   btree entry cannot hold an arbitrarily long text).
 * - `lot_position_from/to` name the contiguous run of the URL's lots a part
 *   carries; the body is rebuilt from `batch_lots` at send time instead of
 *   storing up to 10 MB per row.
 * - `round_start_attempt` lets a manual redelivery restart the backoff
 *   schedule while `attempt_count` keeps counting attempts.
 * - `webhook_delivery_attempts` keeps one row per attempt (in flight, then its
 *   outcome), so operators see every try, including ones a crash cut short.
 */
export class WebhookDeliveryPlan1763790200000 implements MigrationInterface {
  name = 'WebhookDeliveryPlan1763790200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE webhook_deliveries
        ADD COLUMN job_round            text NOT NULL DEFAULT '',
        ADD COLUMN lot_position_from    integer,
        ADD COLUMN lot_position_to      integer,
        ADD COLUMN lot_count            integer NOT NULL DEFAULT 0,
        ADD COLUMN planned_bytes        integer,
        ADD COLUMN round_start_attempt  integer NOT NULL DEFAULT 0,
        ADD CONSTRAINT webhook_deliveries_event_check
          CHECK (event IN ('batch_job_completed','batch_job_failed','batch_job_cancelled'))`);
    await db.query(`
      CREATE UNIQUE INDEX webhook_deliveries_once_idx
        ON webhook_deliveries (batch_job_id, event, job_round, md5(webhook_url), part)`);

    await db.query(`
      CREATE TABLE webhook_delivery_attempts (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id       uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        attempt           integer NOT NULL,
        outcome           text NOT NULL CHECK (outcome IN ('in_flight','delivered','retry','failed','lost')),
        worker_id         text NOT NULL,
        started_at        timestamptz NOT NULL DEFAULT now(),
        finished_at       timestamptz,
        duration_ms       integer,
        response_status   integer,
        response_excerpt  text,
        error_message     text,
        CONSTRAINT webhook_delivery_attempts_once UNIQUE (delivery_id, attempt)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS webhook_delivery_attempts`);
    await db.query(`DROP INDEX IF EXISTS webhook_deliveries_once_idx`);
    await db.query(`
      ALTER TABLE webhook_deliveries
        DROP CONSTRAINT IF EXISTS webhook_deliveries_event_check,
        DROP COLUMN IF EXISTS job_round,
        DROP COLUMN IF EXISTS lot_position_from,
        DROP COLUMN IF EXISTS lot_position_to,
        DROP COLUMN IF EXISTS lot_count,
        DROP COLUMN IF EXISTS planned_bytes,
        DROP COLUMN IF EXISTS round_start_attempt`);
  }
}
