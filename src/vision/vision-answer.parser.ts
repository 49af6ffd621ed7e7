import { sanitizeModelHtml } from '../common/html/model-html.js';
import type { ParsedResult } from '../openai/openai-gateway.types.js';

export function visionError(result: Extract<ParsedResult, { ok: false }>): string {
  return `Vision analysis failed (${result.kind}): ${result.error}`;
}

/**
 * A vision answer as a lot may keep it: the HTML reduced to the harmless
 * allow-list (src/common/html/model-html.ts). With translations read by
 * TranslationService.read, this is the only way model text becomes lot
 * content — direct calls (sync mode, fallbacks) through VisionService.describe,
 * batch output through the ingestion. An answer with nothing harmless left is empty.
 */
export function readVision(result: ParsedResult): ParsedResult {
  if (!result.ok) return result;
  const text = sanitizeModelHtml(result.text);
  if (text === '') {
    return {
      ok: false,
      kind: 'empty_text',
      error: 'The response has no text left once unsafe markup is removed.',
      usage: result.usage,
      retryable: false,
      ...(result.budgetRetry ? { budgetRetry: result.budgetRetry } : {}),
    };
  }
  return { ...result, text };
}
