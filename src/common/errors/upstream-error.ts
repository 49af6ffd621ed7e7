const UPSTREAM = Symbol.for('generation-service.upstream-error');

/**
 * Marks an error as an upstream API's (OpenAI's), so that a connection error
 * to that API is never mistaken for the database going away: both say
 * "Connection error" / ECONNREFUSED, but only the database's pauses the work.
 */
export function markUpstreamError<E>(error: E, upstream: string): E {
  if (error !== null && typeof error === 'object') Object.defineProperty(error, UPSTREAM, { value: upstream, configurable: true });
  return error;
}

/** The upstream an error was marked with, if any. */
export function upstreamOf(error: unknown): string | undefined {
  return error !== null && typeof error === 'object' ? ((error as Record<symbol, string | undefined>)[UPSTREAM] ?? undefined) : undefined;
}
