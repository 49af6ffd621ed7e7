import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 13 (cost): `openai_usage` holds what each billed OpenAI response used,
 * one row per lot, stage and call — `call_key` is `batch:<openai batch id>`
 * for a batch result line, `direct:<uuid>` for a direct call. The primary key
 * makes recording idempotent: re-ingesting an output file or re-reading a
 * batch inserts nothing new (ON CONFLICT DO NOTHING). A job's usage and cost
 * are sums over its rows, by stage, mode and model. `openai_batches.files_deleted_at`:
 * when the batch's files were deleted at OpenAI (OPENAI_DELETE_FILES).
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
    // Data hygiene: when the batch's input, output and error files were deleted at OpenAI.
    await db.query(`ALTER TABLE openai_batches ADD COLUMN files_deleted_at timestamptz`);
    // reuse_results: the job's opt-in; per lot the key of what produced its result (image bytes, notes, languages,
    // models) and, for a reused result, where it came from and what it saved.
    await db.query(`ALTER TABLE batch_jobs ADD COLUMN reuse_results boolean NOT NULL DEFAULT false`);
    await db.query(`ALTER TABLE batch_lots ADD COLUMN content_key text, ADD COLUMN reused_from jsonb`);
    await db.query(`CREATE INDEX batch_lots_content_key_idx ON batch_lots (content_key, processed_at) WHERE status = 'completed'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS batch_lots_content_key_idx`);
    await db.query(`ALTER TABLE batch_lots DROP COLUMN IF EXISTS content_key, DROP COLUMN IF EXISTS reused_from`);
    await db.query(`ALTER TABLE batch_jobs DROP COLUMN IF EXISTS reuse_results`);
    await db.query(`ALTER TABLE openai_batches DROP COLUMN IF EXISTS files_deleted_at`);
    await db.query(`DROP TABLE IF EXISTS openai_usage`);
  }
}
