import { Injectable } from '@nestjs/common';
import type { TokenUsage } from '../jobs/entities/batch-job.entity.js';
import { OpenAiGateway, type CallGuard } from '../openai/openai-gateway.service.js';
import type { GatewayRequest, ParsedResult } from '../openai/openai-gateway.types.js';
import { isRetryableFailure } from './retryable-failure.js';

/** A translation outcome; `retryable` says whether asking again could help (the request did not really run). */
export type TranslationOutcome =
  | { ok: true; translations: Record<string, string>; usage: TokenUsage }
  | { ok: false; error: string; retryable: boolean; usage: TokenUsage };

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
 * direct call, and the reading of its answer.
 */
@Injectable()
export class TranslationService {
  constructor(private readonly gateway: OpenAiGateway) {}

  /** The batch line for one lot (`custom_id` = the lot's row id). */
  request(lotRowId: string, html: string, targets: string[]): GatewayRequest {
    return { customId: lotRowId, body: this.gateway.translationRequest({ html, languages: targets }) };
  }

  /** One direct call (sync mode and fallbacks). */
  async translate(html: string, targets: string[], guard: CallGuard = {}): Promise<TranslationOutcome> {
    const result = await this.gateway.respond(this.gateway.translationRequest({ html, languages: targets }), guard);
    return this.read(result, targets);
  }

  /** A translation result (direct or from a batch file) → the lot's translations, or its error as text. */
  read(result: ParsedResult, targets: string[]): TranslationOutcome {
    if (!result.ok) {
      return { ok: false, error: translationError(result.kind, result.error), retryable: isRetryableFailure(result), usage: result.usage };
    }
    const parsed = this.gateway.parseTranslation(result.text, targets);
    if (!parsed.ok) return { ok: false, error: translationError('malformed', parsed.error), retryable: false, usage: result.usage };
    return { ok: true, translations: parsed.translations, usage: result.usage };
  }
}
