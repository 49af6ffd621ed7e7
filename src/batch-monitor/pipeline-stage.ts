import { JobStatus } from '../jobs/job.types.js';
import type { BatchStage } from '../openai-batches/openai-batch.types.js';

/**
 * The one list of pipeline stages (`batch_jobs.current_stage`). Stored as
 * text and shown to clients (002 shows `vision_analysis`): do not rename a
 * value without a migration that rewrites the rows.
 *
 *   queued → image_check → vision_submitting ⇄ vision_analysis → (vision_direct)
 *          → translation_submitting ⇄ translation → (translation_direct) → completed | failed
 */
export enum PipelineStage {
  /** Stored by the API; nothing done yet. */
  Queued = 'queued',
  /** Image URLs being checked, chunk by chunk (resumable: unchecked lots are still `pending`). */
  ImageCheck = 'image_check',
  /** A vision batch is being created; `submit_started_at` marks an attempt in flight (reference 001). */
  VisionSubmitting = 'vision_submitting',
  /** Waiting for the vision batch(es) at OpenAI. */
  VisionAnalysis = 'vision_analysis',
  /** Remaining lots finished with direct calls (deadline passed, batch expired/failed/cancelled upstream). */
  VisionDirect = 'vision_direct',
  TranslationSubmitting = 'translation_submitting',
  Translation = 'translation',
  TranslationDirect = 'translation_direct',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const ACTIVE_STAGES = [
  PipelineStage.Queued,
  PipelineStage.ImageCheck,
  PipelineStage.VisionSubmitting,
  PipelineStage.VisionAnalysis,
  PipelineStage.VisionDirect,
  PipelineStage.TranslationSubmitting,
  PipelineStage.Translation,
  PipelineStage.TranslationDirect,
] as const;
export type ActiveStage = (typeof ACTIVE_STAGES)[number];

export function isActiveStage(stage: string): stage is ActiveStage {
  return (ACTIVE_STAGES as readonly string[]).includes(stage);
}

/** What a batch stage (vision or translation) is called in each of its steps, and the statuses it uses. */
export interface BatchStageNames {
  stage: BatchStage;
  submitting: ActiveStage;
  awaiting: ActiveStage;
  direct: ActiveStage;
  /** Job status while in this stage. */
  jobStatus: JobStatus;
  /** Status of the lots this stage still has to process. */
  lotStatus: JobStatus;
}

export const VISION: BatchStageNames = {
  stage: 'vision',
  submitting: PipelineStage.VisionSubmitting,
  awaiting: PipelineStage.VisionAnalysis,
  direct: PipelineStage.VisionDirect,
  jobStatus: JobStatus.Processing,
  lotStatus: JobStatus.Processing,
};

export const TRANSLATION: BatchStageNames = {
  stage: 'translation',
  submitting: PipelineStage.TranslationSubmitting,
  awaiting: PipelineStage.Translation,
  direct: PipelineStage.TranslationDirect,
  jobStatus: JobStatus.Translating,
  lotStatus: JobStatus.Translating,
};

export const BATCH_STAGES: readonly BatchStageNames[] = [VISION, TRANSLATION];

export function batchStageOf(stage: ActiveStage): BatchStageNames | undefined {
  return BATCH_STAGES.find((names) => [names.submitting, names.awaiting, names.direct].includes(stage));
}

export { TERMINAL_BATCH_STATUSES } from '../openai-batches/openai-batch.types.js';
