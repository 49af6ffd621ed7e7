/** Job and lot statuses (reference 002 lifecycle). Stored as text: do not rename. */
export enum JobStatus {
  Pending = 'pending',
  Processing = 'processing',
  Translating = 'translating',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled];
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = [JobStatus.Pending, JobStatus.Processing, JobStatus.Translating];

export type ProcessingMode = 'synchronous' | 'batch';
