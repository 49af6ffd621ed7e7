import type { LotOutcome } from '../jobs/lot-outcome.types.js';
import type { BudgetRetry, ParsedResult } from '../openai/openai-gateway.types.js';
import { isRetryableFailure } from '../openai/retryable-failure.js';
import type { TranslationOutcome } from '../translation/translation.service.js';
import { visionError } from '../vision/vision-answer.parser.js';

export { emptySummary, mergeSummaries, type LotOutcome, type WriteSummary } from '../jobs/lot-outcome.types.js';

export function visionOutcome(id: string, result: ParsedResult): LotOutcome {
  const extra = result.budgetRetry ? { budgetRetry: result.budgetRetry } : {};
  if (result.ok) return { id, kind: 'vision', text: result.text, usage: result.usage, ...extra };
  return { id, kind: isRetryableFailure(result) ? 'retry' : 'failed', error: visionError(result), usage: result.usage, ...extra };
}

export function translationOutcome(id: string, outcome: TranslationOutcome): LotOutcome {
  const extra = outcome.budgetRetry ? { budgetRetry: outcome.budgetRetry } : {};
  if (outcome.ok) return { id, kind: 'translation', translations: outcome.translations, usage: outcome.usage, ...extra };
  return { id, kind: outcome.retryable ? 'retry' : 'failed', error: outcome.error, usage: outcome.usage, ...extra };
}

/** A failed batch outcome whose answer was cut at max_output_tokens becomes a `budget` outcome (one retry). */
export function withBudgetRetry(outcome: LotOutcome, retry: BudgetRetry | null): LotOutcome {
  if (!retry || outcome.kind !== 'failed') return outcome;
  return { id: outcome.id, kind: 'budget', error: outcome.error, retry, usage: outcome.usage };
}
