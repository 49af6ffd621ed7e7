import type { Job, LotResult } from './job.types.js';
import { JobStatus, shownStatus } from './job.types.js';
import type { CostView, UsageView } from './usage/usage-views.js';

/** A job's OpenAI usage and its cost (issue 13); views show them when given. */
export interface JobSpend {
  usage: UsageView;
  cost: CostView;
}

/** One description of a lot in one language (reference 002). */
export interface DescriptionView {
  language: string;
  damages: string;
}

/** A lot as clients see it in results, downloads and webhooks (reference 002). */
export interface LotResultView {
  lot_id: string;
  status: string;
  processed_at: string | null;
  processed_images: number;
  descriptions: DescriptionView[];
  missing_images: string[];
  error: string | null;
  /** The earlier lot whose result was reused instead of calling OpenAI (`reuse_results`), and the cost saved. */
  reused_from?: { job_id: string; lot_id: string; saved_usd: number };
}

export interface ProgressView {
  total_lots: number;
  processed_lots: number;
  failed_lots: number;
  completion_percentage: number;
  estimated_completion: string | null;
}

const iso = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

/**
 * Descriptions in the order the client asked for the languages. English is the
 * vision result itself; other languages come from the translation stage.
 */
export function descriptionsOf(lot: Pick<LotResult, 'visionResult' | 'translations'>, languages: string[]): DescriptionView[] {
  const out: DescriptionView[] = [];
  for (const language of languages) {
    const text = language === 'en' ? lot.visionResult : lot.translations?.[language];
    if (typeof text === 'string') out.push({ language, damages: text });
  }
  return out;
}

export function lotResultView(lot: LotResult, languages: string[]): LotResultView {
  return {
    lot_id: lot.lotId,
    status: lot.status,
    processed_at: iso(lot.processedAt),
    processed_images: lot.processedImages,
    descriptions: descriptionsOf(lot, languages),
    missing_images: lot.missingImages ?? [],
    error: lot.errorMessage,
    ...(lot.reusedFrom
      ? { reused_from: { job_id: lot.reusedFrom.job_id, lot_id: lot.reusedFrom.lot_id, saved_usd: lot.reusedFrom.saved_usd ?? 0 } }
      : {}),
  };
}

export function progressView(job: Job): ProgressView {
  const done = job.processedLots + job.failedLots;
  const percentage = job.totalLots === 0 ? 100 : Math.round((done / job.totalLots) * 1000) / 10;
  return {
    total_lots: job.totalLots,
    processed_lots: job.processedLots,
    failed_lots: job.failedLots,
    completion_percentage: job.status === JobStatus.Completed ? 100 : percentage,
    estimated_completion: iso(job.status === JobStatus.Completed ? job.completedAt : job.estimatedCompletion),
  };
}

/** "45 minutes" style duration, as reference 002's processing_summary shows it. */
export function humanDuration(from: Date, to: Date): string {
  const seconds = Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} minutes`;
  return `${Math.round((minutes / 60) * 10) / 10} hours`;
}

/** `GET /batch-status/{job_id}` (reference 002). `processing_mode` is an addition. */
export function statusView(job: Job, spend?: JobSpend) {
  return {
    job_id: job.id,
    status: shownStatus(job),
    processing_mode: job.processingMode,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    progress: progressView(job),
    languages: job.languages,
    processing_details: {
      openai_vision_batch_id: job.openaiBatchId,
      openai_translation_batch_id: job.openaiTranslationBatchId,
      current_stage: job.currentStage,
    },
    error_message: job.errorMessage,
    webhook_configured: job.webhookConfigured,
    ...labelsView(job),
    ...(spend ? { usage: spend.usage, cost: spend.cost } : {}),
  };
}

/** The job's labels (issue 13), in every view of a job. */
export function labelsView(job: Pick<Job, 'name' | 'metadata'>) {
  return { name: job.name ?? null, metadata: job.metadata ?? {} };
}

/** One entry of `GET /batch-jobs` (reference 002). */
export function listItemView(job: Job, spend?: JobSpend) {
  const progress = progressView(job);
  return {
    id: job.id,
    status: shownStatus(job),
    processing_mode: job.processingMode,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    total_lots: job.totalLots,
    processed_lots: job.processedLots,
    failed_lots: job.failedLots,
    languages: job.languages,
    progress: { completion_percentage: progress.completion_percentage, estimated_completion: progress.estimated_completion },
    webhook_configured: job.webhookConfigured,
    ...labelsView(job),
    ...(spend ? { cost: spend.cost } : {}),
  };
}

/** `201` answer to a batch request (reference 002). */
export function acceptedView(job: Job) {
  return {
    job_id: job.id,
    status: 'accepted' as const,
    created_at: iso(job.createdAt),
    total_lots: job.totalLots,
    languages: job.languages,
    estimated_completion: iso(job.estimatedCompletion),
    processing_mode: 'batch' as const,
    webhook_configured: job.webhookConfigured,
  };
}

/** `202` from the results routes while a job is still active (reference 002; `job_id` and full progress are additions). */
export function notCompletedView(job: Job) {
  return {
    error: 'Job not completed',
    status: shownStatus(job),
    job_id: job.id,
    progress: progressView(job),
    message: `Job is currently ${shownStatus(job)}. Results will be available when status is 'completed'.`,
  };
}

/** Everything of the results document except `results.lots`, which is streamed (see results-stream.ts). */
export function resultsHeaderView(job: Job, totalImagesProcessed: number, spend?: JobSpend) {
  return {
    job_id: job.id,
    status: job.status,
    completed_at: iso(job.completedAt ?? job.cancelledAt),
    processing_summary: {
      total_lots: job.totalLots,
      processed_lots: job.processedLots,
      failed_lots: job.failedLots,
      total_images_processed: totalImagesProcessed,
      total_processing_time: humanDuration(job.createdAt, job.completedAt ?? job.cancelledAt ?? job.updatedAt),
      ...(spend ? { usage: spend.usage, cost: spend.cost } : {}),
    },
    error_message: job.errorMessage,
    ...labelsView(job),
  };
}

/** `200` answer of synchronous mode (reference 002; `job_id` is an addition so the stored job can be polled). */
export function syncResultView(job: Job, lot: LotResult) {
  return {
    job_id: job.id,
    version: job.version,
    processing_mode: 'synchronous' as const,
    total_lots: 1,
    processed_at: iso(lot.processedAt ?? job.completedAt),
    lots: [lotResultView(lot, job.languages)],
  };
}
