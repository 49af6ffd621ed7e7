import { USAGE_KEYS as KEYS } from '../common/token-usage.js';

/** Sums token usage (the one implementation is src/common/token-usage.ts). */
export { addUsage } from '../common/token-usage.js';

/**
 * SQL expression adding the jsonb usage `$param` to `column` counter by counter
 * (used in bulk updates so a job's usage is the sum over its calls).
 */
export function addUsageSql(column: string, param: string): string {
  const parts = KEYS.map((key) => `'${key}', COALESCE((${column}->>'${key}')::bigint, 0) + COALESCE((${param}->>'${key}')::bigint, 0)`);
  return `jsonb_build_object(${parts.join(', ')})`;
}
