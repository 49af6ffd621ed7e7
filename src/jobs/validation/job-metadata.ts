import { OPTIONAL_WEBHOOK_EVENTS, type JobMetadata, type OptionalWebhookEvent } from '../job.types.js';

/** OpenAI's own limits on `metadata`: 16 pairs, keys up to 64 characters, string values up to 512. */
export const METADATA_LIMITS = { pairs: 16, key: 64, value: 512 } as const;
/** Longest job name PATCH accepts. */
export const MAX_JOB_NAME = 256;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const NUL = '\0';

/**
 * Reads a `metadata` object into `problems` (messages prefixed with `path`).
 * With `allowNull`, a `null` value means "remove this key" (PATCH) and is kept
 * as null. Returns undefined when the value is absent or invalid.
 */
export function readMetadata(
  value: unknown,
  problems: { add(problem: string): void },
  options: { path?: string; allowNull?: boolean } = {},
): Record<string, string | null> | undefined {
  const path = options.path ?? 'metadata';
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    problems.add(`${path}: must be an object of string values`);
    return undefined;
  }
  const entries = Object.entries(value);
  let ok = true;
  if (entries.length > METADATA_LIMITS.pairs) {
    problems.add(`${path}: at most ${METADATA_LIMITS.pairs} keys (got ${entries.length})`);
    ok = false;
  }
  for (const [key, item] of entries.slice(0, 100)) {
    const where = `${path}.${key.slice(0, METADATA_LIMITS.key)}`;
    if (key.length === 0 || key.length > METADATA_LIMITS.key || key.includes(NUL)) {
      problems.add(`${where}: keys must be 1 to ${METADATA_LIMITS.key} characters`);
      ok = false;
    } else if (item === null && options.allowNull) {
      continue;
    } else if (typeof item !== 'string') {
      problems.add(`${where}: must be a string${options.allowNull ? ' (or null to remove the key)' : ''}`);
      ok = false;
    } else if (item.length > METADATA_LIMITS.value || item.includes(NUL)) {
      problems.add(`${where}: must be at most ${METADATA_LIMITS.value} characters, without NUL`);
      ok = false;
    }
  }
  return ok ? (value as Record<string, string | null>) : undefined;
}

/** Metadata of a new job (no null values). */
export function readNewMetadata(value: unknown, problems: { add(problem: string): void }): JobMetadata {
  return (readMetadata(value, problems) as JobMetadata | undefined) ?? {};
}

/** The optional webhook events a request asked for; absent → none (the terminal events always go). */
export function readWebhookEvents(value: unknown, problems: { add(problem: string): void }): OptionalWebhookEvent[] {
  if (value === undefined || value === null) return [];
  const known: readonly string[] = OPTIONAL_WEBHOOK_EVENTS;
  const terminal = ['batch_job_completed', 'batch_job_failed', 'batch_job_cancelled'];
  if (!Array.isArray(value) || value.some((event) => typeof event !== 'string' || (!known.includes(event) && !terminal.includes(event)))) {
    problems.add(`webhook_events: must be an array of event names among ${[...terminal, ...known].join(', ')}`);
    return [];
  }
  return [...new Set(value as string[])].filter((event): event is OptionalWebhookEvent => known.includes(event));
}
