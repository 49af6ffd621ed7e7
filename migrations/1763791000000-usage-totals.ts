import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job's usage by stage, mode and model, kept up to date as usage is
 * recorded (same statement), so `batch-status` reads a few rows instead of
 * summing one row per lot and call — 100,000 rows for a 50,000-lot job — on
 * every poll. Backfilled from `openai_usage`.
 */
export class UsageTotals1763791000000 implements MigrationInterface {
  name = 'UsageTotals1763791000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE openai_usage_totals (
        batch_job_id      uuid   NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        stage             text   NOT NULL,
        mode              text   NOT NULL,
        model             text   NOT NULL,
        input_tokens      bigint NOT NULL DEFAULT 0,
        cached_tokens     bigint NOT NULL DEFAULT 0,
        output_tokens     bigint NOT NULL DEFAULT 0,
        reasoning_tokens  bigint NOT NULL DEFAULT 0,
        calls             bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (batch_job_id, stage, mode, model)
      )`);
    await db.query(`
      INSERT INTO openai_usage_totals (batch_job_id, stage, mode, model, input_tokens, cached_tokens, output_tokens, reasoning_tokens, calls)
      SELECT batch_job_id, stage, mode, model, sum(input_tokens), sum(cached_tokens), sum(output_tokens), sum(reasoning_tokens), count(*)
        FROM openai_usage GROUP BY batch_job_id, stage, mode, model`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE openai_usage_totals`);
  }
}
