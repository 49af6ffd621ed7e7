import type { ParsedResult, ResultErrorKind, Usage } from './openai-gateway.types.js';

/** Usage with every counter present, so callers can add it up without `?? 0`. */
export type FullUsage = Usage;

export function zeroUsage(): FullUsage {
  return { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 };
}

/** Reads `usage` of a Responses body; missing counters are 0 (a failed body still bills what it used). */
export function usageOf(body: unknown): FullUsage {
  const usage = asRecord(asRecord(body)?.usage);
  if (!usage) return zeroUsage();
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  return {
    input_tokens: input,
    cached_tokens: Math.min(input, count(asRecord(usage.input_tokens_details)?.cached_tokens)),
    output_tokens: output,
    reasoning_tokens: count(asRecord(usage.output_tokens_details)?.reasoning_tokens),
    total_tokens: typeof usage.total_tokens === 'number' ? count(usage.total_tokens) : input + output,
  };
}

export function failure(
  kind: ResultErrorKind,
  error: string,
  retryable: boolean,
  usage: FullUsage = zeroUsage(),
  statusCode?: number,
): ParsedResult {
  return statusCode === undefined ? { ok: false, kind, error, usage, retryable } : { ok: false, kind, error, usage, retryable, statusCode };
}

/**
 * Turns a Responses API body into the lot's text or one precise error.
 *
 * Reference 000: the old service read `output[0]`, which for reasoning models
 * is the (empty) `reasoning` item, and stored nothing. Here the items are
 * searched by type, in any order, and the `output_text` parts of every
 * `message` item are joined — the API may split one answer over several parts.
 * Each way of having no usable text is its own error kind so a lot's failure
 * says why.
 */
export function parseResponseBody(body: unknown): ParsedResult {
  const response = asRecord(body);
  if (!response) return failure('malformed', 'The response body is not a JSON object.', true);
  const usage = usageOf(response);

  const apiError = asRecord(response.error);
  if (apiError || response.status === 'failed') {
    const message = typeof apiError?.message === 'string' ? apiError.message : 'The response failed without an error message.';
    // OpenAI's own failures (server_error) are worth another try; the rest will fail the same way again.
    return failure('request_failed', message, apiError?.code === 'server_error' || apiError?.code === 'rate_limit_exceeded', usage);
  }
  if (response.status === 'incomplete') {
    const reason = asRecord(response.incomplete_details)?.reason;
    const why = typeof reason === 'string' ? reason : 'unknown';
    // The same request would stop at the same limit (max_output_tokens) or filter (content_filter);
    // a larger budget may not (the callers retry max_output_tokens once with one).
    const budget = typeof response.max_output_tokens === 'number' ? response.max_output_tokens : null;
    return {
      ...failure('incomplete', `The response is incomplete: ${why}.`, false, usage),
      incomplete: { reason: why, maxOutputTokens: budget },
    } as ParsedResult;
  }
  if (response.status === 'cancelled') return failure('request_failed', 'The response was cancelled.', true, usage);

  const output = Array.isArray(response.output) ? response.output : [];
  const messages = output.map(asRecord).filter((item) => item?.type === 'message');
  if (messages.length === 0) {
    const types =
      output
        .map((item) => {
          const type = asRecord(item)?.type;
          return typeof type === 'string' ? type : typeof item;
        })
        .join(', ') || 'none';
    return failure('no_message', `The response has no message item (output items: ${types}).`, true, usage);
  }

  const texts: string[] = [];
  for (const message of messages) {
    const content = Array.isArray(message?.content) ? message.content : [];
    for (const rawPart of content) {
      const part = asRecord(rawPart);
      if (part?.type === 'refusal') {
        const refusal = typeof part.refusal === 'string' && part.refusal !== '' ? part.refusal : 'no reason given';
        return failure('refusal', `The model refused: ${refusal}`, false, usage);
      }
      if (part?.type === 'output_text' && typeof part.text === 'string') texts.push(part.text);
    }
  }
  const text = texts.join('');
  if (text.trim() === '') return failure('empty_text', 'The response message has no text.', true, usage);
  return { ok: true, text, usage };
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
