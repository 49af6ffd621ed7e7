import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `batch_jobs.trace_parent`: the W3C `traceparent` of the request that
 * created the job (null when tracing was off), so that each pipeline step's
 * span, a trace of its own, carries a link to it.
 */
export class JobTraceContext1763790700000 implements MigrationInterface {
  name = 'JobTraceContext1763790700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batch_jobs ADD COLUMN trace_parent text NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE batch_jobs DROP COLUMN trace_parent`);
  }
}
