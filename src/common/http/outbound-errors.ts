/**
 * What went wrong with an outbound request, in the words callers decide on:
 * `blocked` and `invalid_url` can never succeed by retrying (permanent);
 * `timeout` and `network` may (transient).
 */
export type OutboundFailureKind = 'blocked' | 'invalid_url' | 'timeout' | 'network';

export class OutboundHttpError extends Error {
  constructor(
    readonly kind: OutboundFailureKind,
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundHttpError';
  }

  /** Retrying cannot help: the target itself is refused or malformed. */
  get permanent(): boolean {
    return this.kind === 'blocked' || this.kind === 'invalid_url';
  }
}

/**
 * The target is a private, loopback, link-local, metadata or otherwise
 * non-public address (SSRF protection), found before connecting or at connect
 * time on the resolved address.
 */
export class SsrfBlockedError extends OutboundHttpError {
  constructor(
    url: string,
    readonly reason: string,
    readonly address?: string,
  ) {
    super(
      'blocked',
      `Refused to contact ${url}: ${reason}${address ? ` (resolved to ${address})` : ''}. ` +
        'Private targets are allowed only with ALLOW_PRIVATE_NETWORKS=true.',
      url,
    );
    this.name = 'SsrfBlockedError';
  }
}

/** Finds an SsrfBlockedError anywhere in an error's cause chain (undici may wrap connect errors). */
export function findSsrfError(error: unknown): SsrfBlockedError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof SsrfBlockedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
