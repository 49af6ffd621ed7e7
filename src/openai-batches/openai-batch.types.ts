/** The two kinds of OpenAI batches a job has (`openai_batches.stage`). */
export type BatchStage = 'vision' | 'translation';

/** OpenAI batch statuses after which nothing more will happen to the batch. */
export const TERMINAL_BATCH_STATUSES: readonly string[] = ['completed', 'failed', 'expired', 'cancelled'];
