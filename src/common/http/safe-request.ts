import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { createHash } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { classifyHost } from './address-policy.js';
import { findSsrfError, OutboundHttpError, SsrfBlockedError } from './outbound-errors.js';
import { refusalFor, type NetworkPolicy } from './safe-dispatcher.js';
import { errorText } from '../errors/error-text.js';
import { injectTraceContext, startChildSpan } from '../tracing/tracing.js';

export const OUTBOUND_USER_AGENT = 'Generation-Service/2.0';

/** Response bytes kept when the caller does not say (enough for an error excerpt). */
const DEFAULT_MAX_BYTES = 1024;

export interface SafeRequestOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole exchange: connect, headers and the part of the body that is read. */
  timeoutMs: number;
  /** Response body bytes to keep; reading stops (and the connection is dropped) past this. */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * Send the W3C `traceparent` of this request's span (webhooks: the receiver may join the trace). Never for
   * image hosts: a third party learns nothing about our traces.
   */
  propagateTrace?: boolean;
}

export interface SafeResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The first `maxBytes` bytes of the body. */
  body: Buffer;
  /** True when the body had more than `maxBytes` bytes (the rest was not read). */
  truncated: boolean;
  durationMs: number;
}

/** Where a request goes out: the guarded dispatcher and the policy it was built with. */
export interface OutboundTarget {
  dispatcher: Dispatcher;
  policy: NetworkPolicy;
}

/** The URL as it may appear in messages and stored errors: a password in it is masked. */
export function redactUrl(url: URL): string {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/**
 * A URL or text as listings may show it: the `user:password@` of every http(s)
 * URL in it becomes `***:***@` (a lone user, often a token, `***@`).
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(
    /\b(https?:\/\/)([^\s/?#@]*)@/gi,
    (_match, scheme: string, userinfo: string) => `${scheme}${userinfo.includes(':') ? '***:***' : '***'}@`,
  );
}

/** Parses and pre-checks a URL: http(s) only, and a public host unless private networks are allowed. */
export function checkOutboundUrl(raw: string, policy: NetworkPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundHttpError('invalid_url', 'The URL is not valid', raw);
  }
  const shown = redactUrl(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundHttpError('invalid_url', `Refused to contact ${shown}: only http and https URLs are allowed`, shown);
  }
  // The WHATWG parser has already rewritten 2130706433, 0x7f.1 and 017700000001 into 127.0.0.1.
  if (!policy.allowPrivateNetworks) {
    const reason = refusalFor(url.hostname, classifyHost(url.hostname), policy);
    if (reason) throw new SsrfBlockedError(shown, reason);
  }
  return url;
}

/**
 * undici silently drops `user:password@` from a URL; receivers that put Basic
 * credentials in their webhook URL expect them as an Authorization header.
 */
function splitCredentials(url: URL, headers: Record<string, string>): { target: URL; headers: Record<string, string> } {
  if (!url.username && !url.password) return { target: url, headers };
  const target = new URL(url.href);
  target.username = '';
  target.password = '';
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return { target, headers };
  const basic = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`, 'utf8').toString('base64');
  return { target, headers: { ...headers, Authorization: `Basic ${basic}` } };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readAtMost(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (kept + chunk.length > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - kept));
      body.destroy(); // stop downloading: the rest is neither needed nor trusted
      return { bytes: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(chunk);
    kept += chunk.length;
  }
  return { bytes: Buffer.concat(chunks), truncated: false };
}

/** Adds our User-Agent unless the caller set one (in any letter case: names are case-insensitive). */
function withUserAgent(headers: Record<string, string>): Record<string, string> {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent')
    ? headers
    : { ...headers, 'User-Agent': OUTBOUND_USER_AGENT };
}

function describeNetworkError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = errorText(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** `url.full` of a span: no credentials, no query string, no fragment (signed URLs carry tokens there). */
export function spanUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The CLIENT span of one outbound exchange (a child of the active span; none outside one). */
function startRequestSpan(method: string, url: URL): Span | undefined {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return startChildSpan(
    method,
    {
      'http.request.method': method,
      'url.full': spanUrl(url),
      'server.address': url.hostname,
      'server.port': port,
    },
    SpanKind.CLIENT,
  );
}

function endRequestSpan(span: Span | undefined, outcome: { status: number } | { error: unknown }): void {
  if (!span) return;
  if ('status' in outcome) {
    span.setAttribute('http.response.status_code', outcome.status);
    if (outcome.status >= 400) {
      span.setAttribute('error.type', String(outcome.status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } else {
    const kind = outcome.error instanceof OutboundHttpError ? outcome.error.kind : 'aborted';
    span.setAttribute('error.type', kind);
    // The kind only: a message may quote the URL, query string included.
    span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
  }
  span.end();
}

/**
 * One HTTP exchange with an untrusted URL: never follows redirects (a 3xx is
 * returned as is), refuses non-http(s) schemes and — unless the policy allows
 * private networks — any host that is or resolves to a non-public address.
 * Failures are OutboundHttpErrors whose `kind` tells retryable from permanent.
 */
export async function safeRequest(raw: string, options: SafeRequestOptions, target: OutboundTarget): Promise<SafeResponse> {
  const url = checkOutboundUrl(raw, target.policy);
  const method = options.method ?? 'GET';
  const span = startRequestSpan(method, url);
  try {
    const response = await exchange(url, method, options, target, span);
    endRequestSpan(span, response);
    return response;
  } catch (error) {
    endRequestSpan(span, { error });
    throw error;
  }
}

async function exchange(url: URL, method: string, options: SafeRequestOptions, target: OutboundTarget, span?: Span): Promise<SafeResponse> {
  const shown = redactUrl(url);
  const { target: destination, headers: given } = splitCredentials(url, withUserAgent(options.headers ?? {}));
  const headers = { ...given }; // never the caller's object: the trace context below is this attempt's
  if (options.propagateTrace && span) injectTraceContext(headers, span);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const started = Date.now();
  try {
    const response = await request(destination, {
      dispatcher: target.dispatcher,
      method,
      headers,
      body: options.body,
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    const { bytes, truncated } = await readAtMost(response.body, options.maxBytes ?? DEFAULT_MAX_BYTES);
    return {
      status: response.statusCode,
      headers: flattenHeaders(response.headers),
      body: bytes,
      truncated,
      durationMs: Date.now() - started,
    };
  } catch (error) {
    const blocked = findSsrfError(error);
    if (blocked) throw new SsrfBlockedError(shown, blocked.reason, blocked.address);
    if (options.signal?.aborted && !timeout.aborted) throw error; // the caller cancelled: not ours to classify
    const timedOut =
      timeout.aborted ||
      ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes((error as { code?: string }).code ?? '');
    if (timedOut) {
      throw new OutboundHttpError('timeout', `No complete answer from ${url.host} within ${options.timeoutMs} ms`, shown, { cause: error });
    }
    throw new OutboundHttpError('network', `Network error contacting ${url.host}: ${describeNetworkError(error)}`, shown, { cause: error });
  }
}

/** `sha256`: hex digest of the image's bytes (what `reuse_results` matches lots by). */
export type ImageProbe = { ok: true; contentType: string; bytes: number; sha256: string } | { ok: false; reason: string };

export interface ProbeImageOptions {
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

/**
 * Checks that `url` serves an image: a 2xx answer with an `image/*`
 * content type and at most `maxBytes` bytes (the download is abandoned past
 * the limit). Never throws for the URL's fault; the reason says what is wrong.
 */
export async function probeImage(raw: string, options: ProbeImageOptions, target: OutboundTarget): Promise<ImageProbe> {
  let response: SafeResponse;
  try {
    response = await safeRequest(
      raw,
      { method: 'GET', headers: { accept: 'image/*' }, timeoutMs: options.timeoutMs, maxBytes: options.maxBytes, signal: options.signal },
      target,
    );
  } catch (error) {
    if (error instanceof OutboundHttpError) return { ok: false, reason: error.message };
    throw error;
  }
  if (response.status < 200 || response.status > 299) {
    const where = response.headers.location ? ` (redirect to ${response.headers.location} not followed)` : '';
    return { ok: false, reason: `HTTP ${response.status}${where}` };
  }
  const contentType = (response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!contentType.startsWith('image/')) {
    return { ok: false, reason: `content-type "${contentType || 'none'}" is not an image` };
  }
  if (response.truncated) return { ok: false, reason: `image is larger than ${options.maxBytes} bytes` };
  if (response.body.length === 0) return { ok: false, reason: 'empty image body' };
  return { ok: true, contentType, bytes: response.body.length, sha256: createHash('sha256').update(response.body).digest('hex') };
}
