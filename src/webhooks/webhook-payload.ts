import type { Job, LotResult } from '../jobs/job.types.js';
import { JobStatus, shownStatus } from '../jobs/job.types.js';
import { humanDuration, lotResultView, type LotResultView } from '../jobs/job-views.js';
import type { CostView } from '../jobs/usage/usage-views.js';
import type { WebhookEvent } from './webhook-delivery.entity.js';

/** The body of one webhook POST (reference 002 "Формат webhook payload", plus parts and failure details). */
export interface WebhookPayload {
  event: WebhookEvent;
  job_id: string;
  status: string;
  completed_at: string | null;
  processing_summary: {
    total_lots: number;
    processed_lots: number;
    failed_lots: number;
    total_processing_time: string;
    /** What the job's OpenAI usage cost (issue 13). */
    cost?: CostView;
  };
  lots: LotResultView[];
  /** Only for `batch_job_failed` and `batch_job_cancelled`. */
  error_message?: string | null;
  /** The job's labels (issue 13). */
  metadata: Record<string, string>;
  part: number;
  parts: number;
}

const EVENTS: Partial<Record<JobStatus, WebhookEvent>> = {
  [JobStatus.Completed]: 'batch_job_completed',
  [JobStatus.Failed]: 'batch_job_failed',
  [JobStatus.Cancelled]: 'batch_job_cancelled',
};

/** The event a job in `status` announces, or undefined while it is still running. */
export function eventFor(status: JobStatus): WebhookEvent | undefined {
  return EVENTS[status];
}

/** When the job reached its terminal status (the pipeline sets completed_at, or cancelled_at on cancel). */
export function finishedAt(job: Job): Date | null {
  return job.completedAt ?? job.cancelledAt ?? null;
}

/**
 * Identifies one terminal transition of a job. A job that is re-run (retry of
 * its failed lots) and finishes again gets a new timestamp, hence a new round
 * of notifications; calling enqueue twice for the same transition does not.
 */
export function jobRound(job: Job): string {
  return finishedAt(job)?.toISOString() ?? '';
}

/**
 * The payload with its lots. Key order is fixed (JSON.stringify keeps
 * insertion order), so the planner can measure an envelope without lots and
 * add the lots' sizes exactly.
 */
export function buildPayload(
  job: Job,
  event: WebhookEvent,
  lots: LotResultView[],
  part: number,
  parts: number,
  cost?: CostView,
): WebhookPayload {
  const end = finishedAt(job);
  return {
    event,
    job_id: job.id,
    status: event === 'batch_job_paused' ? JobStatus.Paused : shownStatus(job),
    completed_at: end ? end.toISOString() : null,
    processing_summary: {
      total_lots: job.totalLots,
      processed_lots: job.processedLots,
      failed_lots: job.failedLots,
      total_processing_time: humanDuration(job.startedAt ?? job.createdAt, end ?? job.updatedAt),
      ...(cost ? { cost } : {}),
    },
    lots,
    ...(event === 'batch_job_failed' || event === 'batch_job_cancelled' ? { error_message: job.errorMessage } : {}),
    metadata: job.metadata ?? {},
    part,
    parts,
  };
}

/** The body bytes sent for one part: lots in request order, each as clients see it in results. */
export function serializePayload(job: Job, event: WebhookEvent, lots: LotResult[], part: number, parts: number, cost?: CostView): Buffer {
  const views = lots.map((lot) => lotResultView(lot, job.languages));
  return Buffer.from(JSON.stringify(buildPayload(job, event, views, part, parts, cost)), 'utf8');
}
