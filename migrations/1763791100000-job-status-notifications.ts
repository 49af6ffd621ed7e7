import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `pg_notify('job_status_changed', job id)` after every change that can alter a
 * job's `GET /batch-status` answer, so each API replica's status cache
 * (src/jobs/status-cache) drops that job as soon as the change commits.
 *
 * - `batch_jobs`: UPDATE of a column the answer is built from (the WHEN clause
 *   lists them: claim renewals and next_check_at moves do not evict), DELETE;
 * - `openai_usage_totals` (the answer's usage and cost): INSERT, UPDATE, DELETE;
 * - TRUNCATE of either: payload `*`, every job.
 *
 * A new job needs no notification: nothing is cached for an id not found.
 * PostgreSQL folds identical notifications of one transaction into one.
 */
export class JobStatusNotifications1763791100000 implements MigrationInterface {
  name = 'JobStatusNotifications1763791100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION notify_job_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_LEVEL = 'STATEMENT' THEN
          PERFORM pg_notify('job_status_changed', '*');
        ELSIF TG_TABLE_NAME = 'batch_jobs' THEN
          PERFORM pg_notify('job_status_changed', OLD.id::text);
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('job_status_changed', OLD.batch_job_id::text);
        ELSE
          PERFORM pg_notify('job_status_changed', NEW.batch_job_id::text);
        END IF;
        RETURN NULL;
      END $$`);
    await db.query(`
      CREATE TRIGGER batch_jobs_status_changed AFTER UPDATE ON batch_jobs FOR EACH ROW
      WHEN ((OLD.id, OLD.client_id, OLD.status, OLD.processing_mode, OLD.version, OLD.languages, OLD.total_lots, OLD.processed_lots,
             OLD.failed_lots, OLD.current_stage, OLD.openai_batch_id, OLD.openai_translation_batch_id, OLD.error_message,
             OLD.webhook_configured, OLD.paused, OLD.metadata, OLD.name, OLD.webhook_events, OLD.estimated_completion, OLD.created_at,
             OLD.updated_at, OLD.started_at, OLD.completed_at, OLD.cancelled_at)
            IS DISTINCT FROM
            (NEW.id, NEW.client_id, NEW.status, NEW.processing_mode, NEW.version, NEW.languages, NEW.total_lots, NEW.processed_lots,
             NEW.failed_lots, NEW.current_stage, NEW.openai_batch_id, NEW.openai_translation_batch_id, NEW.error_message,
             NEW.webhook_configured, NEW.paused, NEW.metadata, NEW.name, NEW.webhook_events, NEW.estimated_completion, NEW.created_at,
             NEW.updated_at, NEW.started_at, NEW.completed_at, NEW.cancelled_at))
      EXECUTE FUNCTION notify_job_status_changed()`);
    await db.query(`
      CREATE TRIGGER batch_jobs_status_deleted AFTER DELETE ON batch_jobs FOR EACH ROW EXECUTE FUNCTION notify_job_status_changed()`);
    await db.query(`
      CREATE TRIGGER batch_jobs_status_truncated AFTER TRUNCATE ON batch_jobs FOR EACH STATEMENT EXECUTE FUNCTION notify_job_status_changed()`);
    await db.query(`
      CREATE TRIGGER openai_usage_totals_status_changed AFTER INSERT OR UPDATE OR DELETE ON openai_usage_totals FOR EACH ROW
      EXECUTE FUNCTION notify_job_status_changed()`);
    await db.query(`
      CREATE TRIGGER openai_usage_totals_status_truncated AFTER TRUNCATE ON openai_usage_totals FOR EACH STATEMENT
      EXECUTE FUNCTION notify_job_status_changed()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER openai_usage_totals_status_truncated ON openai_usage_totals`);
    await db.query(`DROP TRIGGER openai_usage_totals_status_changed ON openai_usage_totals`);
    await db.query(`DROP TRIGGER batch_jobs_status_truncated ON batch_jobs`);
    await db.query(`DROP TRIGGER batch_jobs_status_deleted ON batch_jobs`);
    await db.query(`DROP TRIGGER batch_jobs_status_changed ON batch_jobs`);
    await db.query(`DROP FUNCTION notify_job_status_changed()`);
  }
}
