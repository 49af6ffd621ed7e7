/** HTTP-date in the one format RFC 9110 says to send (IMF-fixdate); `Date.parse` alone would also read "-5" as a year. */
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const DELTA_SECONDS = /^\d+(\.\d+)?$/;

/**
 * A `Retry-After` value as milliseconds from `now`: delta-seconds or an
 * HTTP date (a date in the past is 0). Undefined when absent or unreadable,
 * so the caller falls back to its own backoff. The one parser for every
 * client in the service (OpenAI gateway, webhook sender).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (DELTA_SECONDS.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  if (!IMF_FIXDATE.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait asked for by a response's headers: `retry-after-ms` (OpenAI's own
 * header, milliseconds) first, then `Retry-After`. Undefined when absent,
 * unreadable or beyond `maxMs` (a misconfigured proxy must not park work for an hour).
 */
export function retryAfterFromHeaders(headers: Headers | undefined, maxMs: number, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const millis = headers.get('retry-after-ms')?.trim();
  let ms: number | undefined = millis && DELTA_SECONDS.test(millis) ? Math.ceil(Number(millis)) : undefined;
  ms ??= parseRetryAfter(headers.get('retry-after'), now);
  return ms === undefined || ms > maxMs ? undefined : ms;
}
