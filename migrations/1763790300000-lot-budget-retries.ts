import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16: an answer cut at `max_output_tokens` earns its lot one retry with
 * a larger budget per stage. `budget_retries` keeps one entry per such retry
 * — stage, where the incomplete attempt ran (batch/direct), the reason, both
 * budgets and what the incomplete attempt billed — so the attempt stays
 * visible after the lot is done, and a second incomplete answer fails the lot
 * instead of retrying forever.
 */
export class LotBudgetRetries1763790300000 implements MigrationInterface {
  name = 'LotBudgetRetries1763790300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batch_lots ADD COLUMN budget_retries jsonb NOT NULL DEFAULT '[]'::jsonb`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batch_lots DROP COLUMN IF EXISTS budget_retries`);
  }
}
