import type { Usage } from './openai-gateway.types.js';

export const USAGE_KEYS = ['input_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens'] as const;

/** Sums token usage; absent counters count as 0 and the result has every counter. */
export function addUsage(...usages: (Partial<Usage> | null | undefined)[]): Usage {
  const sum = { input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 };
  for (const usage of usages) {
    for (const key of USAGE_KEYS) sum[key] += usage?.[key] ?? 0;
  }
  return sum;
}
