import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the batch pipeline needs beyond the initial schema:
 * - claims with a fencing token, so a worker whose lease ran out (or whose job
 *   was cancelled) can no longer write the job (several replicas, SPEC §5);
 * - the marker of a batch submission in flight, so a restart reconciles with
 *   OpenAI before submitting again (reference 001);
 * - the outcome of every failed attempt on the row, and a bounded error count;
 * - on `openai_batches`, when we asked OpenAI to cancel a batch, when we gave
 *   up waiting for it, and when the reconciliation sweep re-attached it.
 */
export class PipelineClaims1763790100000 implements MigrationInterface {
  name = 'PipelineClaims1763790100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE batch_jobs
        ADD COLUMN claim_token       uuid,
        ADD COLUMN claimed_by        text,
        ADD COLUMN submit_started_at timestamptz,
        ADD COLUMN error_count       integer NOT NULL DEFAULT 0,
        ADD COLUMN last_error        text`);
    await db.query(`
      ALTER TABLE openai_batches
        ADD COLUMN cancel_requested_at timestamptz,
        ADD COLUMN abandoned_at        timestamptz,
        ADD COLUMN reconciled_at       timestamptz`);
    // The monitor's question: which batches of a job are still open.
    await db.query(`
      CREATE INDEX openai_batches_open_idx ON openai_batches (batch_job_id, stage)
      WHERE ingested_at IS NULL AND abandoned_at IS NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS openai_batches_open_idx`);
    await db.query(`
      ALTER TABLE openai_batches
        DROP COLUMN IF EXISTS cancel_requested_at,
        DROP COLUMN IF EXISTS abandoned_at,
        DROP COLUMN IF EXISTS reconciled_at`);
    await db.query(`
      ALTER TABLE batch_jobs
        DROP COLUMN IF EXISTS claim_token,
        DROP COLUMN IF EXISTS claimed_by,
        DROP COLUMN IF EXISTS submit_started_at,
        DROP COLUMN IF EXISTS error_count,
        DROP COLUMN IF EXISTS last_error`);
  }
}
