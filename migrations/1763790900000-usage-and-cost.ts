import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 13 (cost): `openai_usage` holds what each billed OpenAI response used,
 * one row per lot, stage and call — `call_key` is `batch:<openai batch id>`
 * for a batch result line, `direct:<uuid>` for a direct call. The primary key
 * makes recording idempotent: re-ingesting an output file or re-reading a
 * batch inserts nothing new (ON CONFLICT DO NOTHING). A job's usage and cost
 * are sums over its rows, by stage, mode and model.
 */
export class UsageAndCost1763790900000 implements MigrationInterface {
  name = 'UsageAndCost1763790900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE openai_usage (
        lot_row_id        uuid        NOT NULL REFERENCES batch_lots(id) ON DELETE CASCADE,
        stage             text        NOT NULL CHECK (stage IN ('vision', 'translation')),
        call_key          text        NOT NULL,
        batch_job_id      uuid        NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        mode              text        NOT NULL CHECK (mode IN ('batch', 'direct')),
        model             text        NOT NULL,
        input_tokens      bigint      NOT NULL DEFAULT 0,
        cached_tokens     bigint      NOT NULL DEFAULT 0,
        output_tokens     bigint      NOT NULL DEFAULT 0,
        reasoning_tokens  bigint      NOT NULL DEFAULT 0,
        created_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (lot_row_id, stage, call_key)
      )`);
    await db.query(`CREATE INDEX openai_usage_job_idx ON openai_usage (batch_job_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS openai_usage`);
  }
}
