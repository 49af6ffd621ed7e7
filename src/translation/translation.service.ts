import { Injectable } from '@nestjs/common';
import { sanitizeModelHtml } from '../common/html/model-html.js';
import { AppConfig } from '../config/app-config.js';
import { budgetRetryFor, respondWithBudgetRetry, type DirectBudget } from '../openai/budget-retry.js';
import type { ModelSettings, RequestOverrides } from '../openai/model-budget.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BudgetRetry, CallGuard, GatewayRequest, ParsedResult, Usage } from '../openai/openai-gateway.types.js';
import { isRetryableFailure } from '../openai/retryable-failure.js';
import { parseTranslation } from './translation-answer.parser.js';
import { buildTranslationRequest } from './translation-request.builder.js';

export type { DirectBudget } from '../openai/budget-retry.js';

/** A translation outcome; `retryable` says whether asking again could help (the request did not really run). */
export type TranslationOutcome = (
  { ok: true; translations: Record<string, string>; usage: Usage } | { ok: false; error: string; retryable: boolean; usage: Usage }
) & { budgetRetry?: BudgetRetry };

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
  private readonly settings: ModelSettings;

  constructor(
    private readonly gateway: OpenAiGateway,
    config: AppConfig,
  ) {
    this.settings = config.openai;
  }

  /** The batch line for one lot (`custom_id` = the lot's row id). */
  request(lotRowId: string, html: string, targets: string[], overrides?: RequestOverrides): GatewayRequest {
    return { customId: lotRowId, body: buildTranslationRequest(this.settings, { html, languages: targets }, overrides) };
  }

  /** One direct call (sync mode and fallbacks). */
  async translate(html: string, targets: string[], guard: CallGuard = {}, budget: DirectBudget = 'default'): Promise<TranslationOutcome> {
    if (budget !== 'default') {
      const { body } = this.request('', html, targets, { maxOutputTokens: budget.retryBudget });
      return this.read(await this.gateway.respond(body, guard), targets);
    }
    const { body } = this.request('', html, targets);
    return this.read(await respondWithBudgetRetry(this.gateway, body, { stage: 'translation', settings: this.settings, guard }), targets);
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
    const parsed = parseTranslation(result.text, targets);
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

  /** The direct retry a batch answer cut at max_output_tokens earns (null: none). */
  budgetRetryFor(result: ParsedResult): BudgetRetry | null {
    return budgetRetryFor(result, { stage: 'translation', via: 'batch' }, this.settings);
  }
}
