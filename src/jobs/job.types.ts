/** Job and lot statuses (reference 002 lifecycle). Stored as text: do not rename. */
export enum JobStatus {
  Pending = 'pending',
  Processing = 'processing',
  Translating = 'translating',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
  /**
   * Shown, never stored: a job paused by its client keeps its active status
   * in `batch_jobs.status` and has `paused = true`; views and the list filter
   * say `paused` (see shownStatus).
   */
  Paused = 'paused',
}

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled];
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = [JobStatus.Pending, JobStatus.Processing, JobStatus.Translating];

/** Labels of a job: up to 16 string pairs (as OpenAI's own `metadata`). */
export type JobMetadata = Record<string, string>;

/** The webhook events of a job besides the terminal ones, sent only to jobs that asked for them. */
export const OPTIONAL_WEBHOOK_EVENTS = ['batch_job_paused', 'batch_job_resumed', 'batch_job_retried'] as const;
export type OptionalWebhookEvent = (typeof OPTIONAL_WEBHOOK_EVENTS)[number];

/** The status a client sees: `paused` for a paused active job, the stored status otherwise. */
export function shownStatus(job: Pick<Job, 'status' | 'paused'>): JobStatus {
  return job.paused && ACTIVE_JOB_STATUSES.includes(job.status) ? JobStatus.Paused : job.status;
}

export type ProcessingMode = 'synchronous' | 'batch';

/** Token usage summed over every OpenAI call made for a job or lot. */
export interface TokenUsage {
  input_tokens?: number;
  cached_tokens?: number;
  output_tokens?: number;
  reasoning_tokens?: number;
  total_tokens?: number;
}

/**
 * A job as other modules see it (the columns of `batch_jobs` they read). The
 * entity implements it; outside src/jobs only this type is used, never the entity.
 */
export interface Job {
  id: string;
  clientId: string;
  status: JobStatus;
  processingMode: ProcessingMode;
  version: string;
  languages: string[];
  totalLots: number;
  processedLots: number;
  failedLots: number;
  currentStage: string;
  openaiBatchId: string | null;
  openaiTranslationBatchId: string | null;
  errorMessage: string | null;
  webhookConfigured: boolean;
  paused: boolean;
  /** The client's labels (issue 13); absent on rows read without them. */
  metadata?: JobMetadata;
  /** Display name set by PATCH (issue 13). */
  name?: string | null;
  /** Optional webhook events the job asked for (issue 13). */
  webhookEvents?: OptionalWebhookEvent[];
  /** Opted in to `reuse_results` (issue 13). */
  reuseResults?: boolean;
  stageStartedAt: Date | null;
  stageDeadlineAt: Date | null;
  nextCheckAt: Date;
  stageAttempts: number;
  estimatedCompletion: Date | null;
  usage: TokenUsage;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  cancelledAt: Date | null;
  /** W3C `traceparent` of the request that created the job (the pipeline's spans link to it). */
  traceParent?: string | null;
}

/** A lot's result columns as views, downloads and webhook payloads read them. */
export interface LotResult {
  id: string;
  position: number;
  lotId: string;
  status: JobStatus;
  processedAt: Date | null;
  processedImages: number;
  visionResult: string | null;
  translations: Record<string, string> | null;
  missingImages: string[];
  errorMessage: string | null;
  /** Set when the result was reused from an earlier lot of the client (issue 13). */
  reusedFrom?: ReusedFrom | null;
}

/** Where a reused result came from, and what its OpenAI calls had cost (what reusing it saved). */
export interface ReusedFrom {
  job_id: string;
  lot_id: string;
  /** The source lot's row (internal: its usage prices the saving). */
  lot_row_id: string;
  saved_usd?: number;
}

/** Columns the pipeline may change on a job it holds (the claim columns are the repository's own). */
export type JobPatch = Partial<
  Pick<
    Job,
    | 'status'
    | 'currentStage'
    | 'stageStartedAt'
    | 'stageDeadlineAt'
    | 'stageAttempts'
    | 'processedLots'
    | 'failedLots'
    | 'estimatedCompletion'
    | 'startedAt'
    | 'completedAt'
    | 'errorMessage'
  >
> & { submitStartedAt?: Date | null };

/** Lots of a job by status. */
export type LotCounts = Partial<Record<JobStatus, number>>;

/** A job held under a claim: every write on it names the claim's fencing token. */
export interface JobClaim {
  jobId: string;
  token: string;
}

/**
 * One retry of a lot whose answer was cut at `max_output_tokens`, as stored
 * in `batch_lots.budget_retries` (issue 16). The gateway's BudgetRetry has
 * this shape; jobs keeps its own so that reading a job never loads the gateway.
 */
export interface BudgetRetryRecord {
  stage: 'vision' | 'translation';
  via: 'batch' | 'direct';
  reason: string;
  max_output_tokens: number;
  retry_max_output_tokens: number;
  usage: TokenUsage;
  at: string;
}
