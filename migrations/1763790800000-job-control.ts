import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 13, job control:
 * - `batch_jobs.metadata`: the client's labels (≤ 16 string pairs, as OpenAI's
 *   own), filterable in the list (GIN index for `metadata @> {...}`);
 * - `batch_jobs.name`: an optional display name set by PATCH;
 * - `batch_jobs.webhook_events`: the non-terminal events (paused, resumed,
 *   retried) the job's webhook URLs asked for; the terminal ones always go;
 * - `batch_lots.attempts`: how many times the lot was processed (a retry of
 *   a failed lot adds one);
 * - an index on `created_at` for the retention purge;
 * - `webhook_deliveries.event` admits the transition events.
 * `paused` itself is the column the initial schema already has.
 */
const TERMINAL_EVENTS = ['batch_job_completed', 'batch_job_failed', 'batch_job_cancelled'];
const EVENTS = [...TERMINAL_EVENTS, 'batch_job_paused', 'batch_job_resumed', 'batch_job_retried'];

export class JobControl1763790800000 implements MigrationInterface {
  name = 'JobControl1763790800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE batch_jobs
        ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
        ADD COLUMN name text,
        ADD COLUMN webhook_events jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(webhook_events) = 'array')`);
    await db.query(`ALTER TABLE batch_lots ADD COLUMN attempts integer NOT NULL DEFAULT 1`);
    await db.query(`CREATE INDEX batch_jobs_metadata_idx ON batch_jobs USING gin (metadata jsonb_path_ops)`);
    await db.query(`CREATE INDEX batch_jobs_created_idx ON batch_jobs (created_at)`);
    await db.query(`
      ALTER TABLE webhook_deliveries
        DROP CONSTRAINT webhook_deliveries_event_check,
        ADD CONSTRAINT webhook_deliveries_event_check CHECK (event IN (${EVENTS.map((event) => `'${event}'`).join(',')}))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM webhook_deliveries WHERE event NOT IN (${TERMINAL_EVENTS.map((event) => `'${event}'`).join(',')})`);
    await db.query(`
      ALTER TABLE webhook_deliveries
        DROP CONSTRAINT webhook_deliveries_event_check,
        ADD CONSTRAINT webhook_deliveries_event_check CHECK (event IN (${TERMINAL_EVENTS.map((event) => `'${event}'`).join(',')}))`);
    await db.query(`DROP INDEX IF EXISTS batch_jobs_created_idx`);
    await db.query(`DROP INDEX IF EXISTS batch_jobs_metadata_idx`);
    await db.query(`ALTER TABLE batch_lots DROP COLUMN IF EXISTS attempts`);
    await db.query(
      `ALTER TABLE batch_jobs DROP COLUMN IF EXISTS webhook_events, DROP COLUMN IF EXISTS name, DROP COLUMN IF EXISTS metadata`,
    );
  }
}
