import type { BilledTokens } from '../../config/price-table.js';

export type UsageStage = 'vision' | 'translation';
export type UsageMode = 'batch' | 'direct';

/**
 * Where the results being recorded were billed: a batch (each line keyed
 * `batch:<openai batch id>`, so re-reading the batch adds nothing) or direct
 * calls (each call its own key: a call made twice was billed twice).
 */
export interface UsageSource {
  mode: UsageMode;
  model: string;
  /** The OpenAI batch id, for `mode: 'batch'`. */
  batchId?: string;
}

/** Tokens summed over the calls of one stage, mode and model. */
export interface UsageLine extends BilledTokens {
  stage: UsageStage;
  mode: UsageMode;
  model: string;
  /** OpenAI responses counted (batch lines and direct calls). */
  calls: number;
}
