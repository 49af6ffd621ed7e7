import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The deployment-wide OpenAI request budget (OPENAI_MAX_RPM holds for all
 * replicas together, not per process): the table `rate-limiter-flexible`'s
 * RateLimiterPostgres counts in, created here rather than by the library at
 * run time so the schema stays under migrations. Columns as the library
 * expects them: one row per window key, its points and its expiry (epoch ms).
 */
export class OpenAiRequestBudget1763790400000 implements MigrationInterface {
  name = 'OpenAiRequestBudget1763790400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE openai_request_budget (
        key    varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS openai_request_budget`);
  }
}
