import { Injectable } from '@nestjs/common';
import type { TokenUsage } from '../jobs/job.types.js';
import { OpenAiGateway, type CallGuard } from '../openai/openai-gateway.service.js';
import type { BudgetRetry, GatewayRequest, ParsedResult } from '../openai/openai-gateway.types.js';
import type { RequestOverrides } from '../openai/openai-request.builder.js';
import { isRetryableFailure } from './retryable-failure.js';
import { sanitizeModelHtml } from '../common/html/model-html.js';

/** A translation outcome; `retryable` says whether asking again could help (the request did not really run). */
export type TranslationOutcome = (
  | { ok: true; translations: Record<string, string>; usage: TokenUsage }
  | { ok: false; error: string; retryable: boolean; usage: TokenUsage }
) & { budgetRetry?: BudgetRetry };

/**
 * How a direct call treats an answer cut at max_output_tokens: by default it
 * retries once with a larger budget; a lot whose retry is already decided
 * (its batch answer was cut) is called once with that budget.
 */
export type DirectBudget = { retryBudget: number } | 'default';

/** The languages a lot is translated into: everything requested except English, which is the vision result itself. */
export function targetLanguages(languages: readonly string[]): string[] {
  return [...new Set(languages.filter((language) => language !== 'en'))];
}

export function translationError(kind: string, error: string): string {
  return `Translation failed (${kind}): ${error}`;
}

/**
 * Translation of a lot's English HTML into all its target languages in one
 * structured-output request (HTML tags preserved), as a batch line or a
 * direct call, and the reading of its answer — the one way a translation
 * becomes lot content, sanitised like descriptions (src/common/html/model-html.ts).
 */
@Injectable()
export class TranslationService {
  constructor(private readonly gateway: OpenAiGateway) {}

  /** The batch line for one lot (`custom_id` = the lot's row id). */
  request(lotRowId: string, html: string, targets: string[], overrides?: RequestOverrides): GatewayRequest {
    return { customId: lotRowId, body: this.gateway.translationRequest({ html, languages: targets }, overrides) };
  }

  /** One direct call (sync mode and fallbacks). */
  async translate(html: string, targets: string[], guard: CallGuard = {}, budget: DirectBudget = 'default'): Promise<TranslationOutcome> {
    const overrides = budget === 'default' ? undefined : { maxOutputTokens: budget.retryBudget };
    const result = await this.gateway.respond(this.gateway.translationRequest({ html, languages: targets }, overrides), {
      ...guard,
      ...(budget === 'default' ? { budgetRetryStage: 'translation' as const } : {}),
    });
    return this.read(result, targets);
  }

  /** A translation result (direct or from a batch file) → the lot's translations, or its error as text. */
  read(result: ParsedResult, targets: string[]): TranslationOutcome {
    const extra = result.budgetRetry ? { budgetRetry: result.budgetRetry } : {};
    if (!result.ok) {
      return {
        ok: false,
        error: translationError(result.kind, result.error),
        retryable: isRetryableFailure(result),
        usage: result.usage,
        ...extra,
      };
    }
    const parsed = this.gateway.parseTranslation(result.text, targets);
    if (!parsed.ok)
      return { ok: false, error: translationError('malformed', parsed.error), retryable: false, usage: result.usage, ...extra };
    // Every language reduced to the harmless allow-list, like the description (readVision).
    const translations: Record<string, string> = {};
    const empty: string[] = [];
    for (const [language, html] of Object.entries(parsed.translations)) {
      translations[language] = sanitizeModelHtml(html);
      if (translations[language] === '') empty.push(language);
    }
    if (empty.length > 0) {
      const error = `The translation has no text left once unsafe markup is removed: ${empty.join(', ')}.`;
      return { ok: false, error: translationError('empty_text', error), retryable: false, usage: result.usage, ...extra };
    }
    return { ok: true, translations, usage: result.usage, ...extra };
  }
}
