import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The schema keeps the seed service's table and column names so that the SQL
 * operators run from references 000, 001 and 002 works unchanged. One name for
 * one thing: `openai_batch_id` is the vision batch (reference 001), the
 * translation batch is `openai_translation_batch_id`, and every OpenAI batch a
 * job ever had is also a row of `openai_batches`.
 */
export class InitialSchema1763790000000 implements MigrationInterface {
  name = 'InitialSchema1763790000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_clients (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`INSERT INTO api_clients (id, name) VALUES ('default', 'Holder of SHARED_KEY')`);

    await db.query(`
      CREATE TABLE batch_jobs (
        id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        client_id                    text NOT NULL REFERENCES api_clients(id),
        status                       text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending','processing','translating','completed','failed','cancelled')),
        processing_mode              text NOT NULL CHECK (processing_mode IN ('synchronous','batch')),
        version                      text NOT NULL,
        languages                    jsonb NOT NULL,
        total_lots                   integer NOT NULL,
        processed_lots               integer NOT NULL DEFAULT 0,
        failed_lots                  integer NOT NULL DEFAULT 0,
        current_stage                text NOT NULL DEFAULT 'queued',
        openai_batch_id              text,
        openai_translation_batch_id  text,
        error_message                text,
        webhook_configured           boolean NOT NULL DEFAULT false,
        paused                       boolean NOT NULL DEFAULT false,
        stage_started_at             timestamptz,
        stage_deadline_at            timestamptz,
        next_check_at                timestamptz NOT NULL DEFAULT now(),
        stage_attempts               integer NOT NULL DEFAULT 0,
        estimated_completion         timestamptz,
        usage                        jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at                   timestamptz NOT NULL DEFAULT now(),
        updated_at                   timestamptz NOT NULL DEFAULT now(),
        started_at                   timestamptz,
        completed_at                 timestamptz,
        cancelled_at                 timestamptz
      )`);
    await db.query(`CREATE INDEX batch_jobs_client_created_idx ON batch_jobs (client_id, created_at DESC)`);
    await db.query(`CREATE INDEX batch_jobs_status_created_idx ON batch_jobs (status, created_at DESC)`);
    await db.query(`
      CREATE INDEX batch_jobs_due_idx ON batch_jobs (next_check_at)
      WHERE status IN ('pending','processing','translating')`);

    await db.query(`
      CREATE TABLE batch_lots (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        batch_job_id      uuid NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        position          integer NOT NULL,
        lot_id            text NOT NULL,
        additional_info   text,
        webhook_url       text,
        images            jsonb NOT NULL,
        status            text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending','processing','translating','completed','failed','cancelled')),
        vision_result     text,
        translations      jsonb,
        missing_images    jsonb NOT NULL DEFAULT '[]'::jsonb,
        processed_images  integer NOT NULL DEFAULT 0,
        error_message     text,
        usage             jsonb NOT NULL DEFAULT '{}'::jsonb,
        processed_at      timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT batch_lots_job_lot_unique UNIQUE (batch_job_id, lot_id),
        CONSTRAINT batch_lots_job_position_unique UNIQUE (batch_job_id, position)
      )`);
    await db.query(`CREATE INDEX batch_lots_job_status_idx ON batch_lots (batch_job_id, status)`);

    await db.query(`
      CREATE TABLE openai_batches (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        batch_job_id     uuid NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        stage            text NOT NULL CHECK (stage IN ('vision','translation')),
        part             integer NOT NULL DEFAULT 1,
        openai_batch_id  text NOT NULL UNIQUE,
        input_file_id    text,
        output_file_id   text,
        error_file_id    text,
        status           text NOT NULL,
        request_count    integer NOT NULL,
        completed_count  integer NOT NULL DEFAULT 0,
        failed_count     integer NOT NULL DEFAULT 0,
        ingested_at      timestamptz,
        last_error       text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX openai_batches_job_stage_idx ON openai_batches (batch_job_id, stage)`);

    await db.query(`
      CREATE TABLE webhook_deliveries (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        batch_job_id     uuid NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        webhook_url      text NOT NULL,
        event            text NOT NULL,
        part             integer NOT NULL DEFAULT 1,
        parts            integer NOT NULL DEFAULT 1,
        status           text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending','delivered','failed')),
        attempt_count    integer NOT NULL DEFAULT 0,
        max_attempts     integer NOT NULL,
        next_attempt_at  timestamptz,
        last_attempt_at  timestamptz,
        delivered_at     timestamptz,
        response_status  integer,
        response_excerpt text,
        error_message    text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (batch_job_id)`);
    await db.query(`
      CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
      WHERE status = 'pending'`);

    await db.query(`
      CREATE TABLE worker_heartbeats (
        instance_id   text PRIMARY KEY,
        role          text NOT NULL,
        hostname      text NOT NULL,
        pid           integer NOT NULL,
        started_at    timestamptz NOT NULL,
        last_beat_at  timestamptz NOT NULL
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['worker_heartbeats', 'webhook_deliveries', 'openai_batches', 'batch_lots', 'batch_jobs', 'api_clients']) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
