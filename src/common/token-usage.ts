/** The token counters OpenAI reports per response, as stored on lots and jobs. */
export interface TokenCounts {
  input_tokens: number;
  /** Of `input_tokens`, those read from OpenAI's prompt cache (`input_tokens_details.cached_tokens`, billed lower). */
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
}

export const USAGE_KEYS = ['input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens'] as const;

/** Sums token usage; absent counters count as 0 and the result has every counter. */
export function addUsage(...usages: (Partial<TokenCounts> | null | undefined)[]): TokenCounts {
  const sum = { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 };
  for (const usage of usages) {
    for (const key of USAGE_KEYS) sum[key] += usage?.[key] ?? 0;
  }
  return sum;
}
