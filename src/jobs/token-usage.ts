import type { TokenUsage } from './job.types.js';

const KEYS = ['input_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens'] as const;

/** Sums token usage; absent counters count as 0 and the result has every counter. */
export function addUsage(...usages: (TokenUsage | null | undefined)[]): Required<TokenUsage> {
  const sum = { input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 };
  for (const usage of usages) {
    for (const key of KEYS) sum[key] += usage?.[key] ?? 0;
  }
  return sum;
}

/**
 * SQL expression adding the jsonb usage `$param` to `column` counter by counter
 * (used in bulk updates so a job's usage is the sum over its calls).
 */
export function addUsageSql(column: string, param: string): string {
  const parts = KEYS.map((key) => `'${key}', COALESCE((${column}->>'${key}')::bigint, 0) + COALESCE((${param}->>'${key}')::bigint, 0)`);
  return `jsonb_build_object(${parts.join(', ')})`;
}
