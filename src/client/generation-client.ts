/**
 * The TypeScript client of the Generation Service: openapi-fetch over the types generated from the service's own
 * OpenAPI document (`npm run client:generate` → ./generated/openapi.d.ts), plus a middleware that signs every request
 * (SPEC §4). `api` is the whole typed surface; the methods below are the common calls with typed answers and errors.
 *
 *   const client = new GenerationClient('http://localhost:5000', { keyId: process.env.GS_KEY_ID!, secret: process.env.GS_SECRET! });
 *   const { job_id } = await client.submit({ version: '1.0.0', languages: ['en', 'de'], lots });
 *   const results = await client.waitForResults(job_id, { intervalMs: 5_000 });
 *
 * `auth` is a client key (RFC 9421: `{ keyId, secret }` for HMAC, `{ keyId, privateKey }` for Ed25519) or, for the seed
 * scheme, SHARED_KEY itself.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { canonicalJson } from '../common/json/canonical-json.js';
import type { components, paths } from './generated/openapi.js';
import { createRequestSigner, type ClientAuth } from './signing.js';

export type { ClientAuth, V2Credentials, HmacV2Credentials, Ed25519V2Credentials } from './signing.js';
export type { components, paths } from './generated/openapi.js';

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type Route = paths;

/** The body of POST /api/v1/generate-descriptions. */
export type GenerateRequest = Json<Route['/api/v1/generate-descriptions']['post']['requestBody']>;
export type LotInput = GenerateRequest['lots'][number];
/** 201: a batch job was accepted (2 lots or more). */
export type AcceptedJob = Json<Route['/api/v1/generate-descriptions']['post']['responses'][201]>;
type GenerateOk = Json<Route['/api/v1/generate-descriptions']['post']['responses'][200]>;
/** 200: the estimate of a `"dry_run": true` request (nothing stored, nothing sent to OpenAI). */
export type DryRunEstimate = Extract<GenerateOk, { dry_run: true }>;
/** 200: the synchronous result of a single lot. */
export type SyncResult = Exclude<GenerateOk, { dry_run: true }>;
export type JobStatus = Json<Route['/api/v1/batch-status/{job_id}']['get']['responses'][200]>;
export type JobResults = Json<Route['/api/v1/batch-results/{job_id}']['get']['responses'][200]>;
export type JobNotCompleted = Json<Route['/api/v1/batch-results/{job_id}']['get']['responses'][202]>;
export type CancelledJob = Json<Route['/api/v1/batch-jobs/{job_id}/cancel']['post']['responses'][200]>;
export type JobList = Json<Route['/api/v1/batch-jobs']['get']['responses'][200]>;
export type JobListQuery = NonNullable<Route['/api/v1/batch-jobs']['get']['parameters']['query']>;
/** Every error answer of the API (SPEC: `{error, message, code, details?}`). */
export type ApiErrorBody = components['schemas']['ErrorResponseDto'];

/** The states after which a job never changes again. */
export const TERMINAL_STATUSES: readonly JobStatus['status'][] = ['completed', 'failed', 'cancelled'];

/** A non-2xx answer, with the API's error body (`code` is `HTTP_<status>` when the answer was not the API's JSON). */
export class GenerationApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(`${status} ${body.code}: ${body.message}`);
    this.name = 'GenerationApiError';
  }

  get code(): string {
    return this.body.code;
  }
}

/** The results were asked for while the job is still pending, processing or translating (the API's `202`). */
export class JobNotCompletedError extends Error {
  constructor(readonly answer: JobNotCompleted) {
    super(answer.message);
    this.name = 'JobNotCompletedError';
  }
}

/** `waitForResults`/`watch` gave up: the job failed or was cancelled, or did not finish within the timeout. */
export class JobOutcomeError extends Error {
  constructor(
    readonly jobId: string,
    readonly outcome: 'failed' | 'cancelled' | 'timeout',
    readonly lastStatus: JobStatus,
  ) {
    const message: unknown = lastStatus.error_message;
    const reason = typeof message === 'string' ? `: ${message}` : '';
    super(outcome === 'timeout' ? `job ${jobId} not finished in time (still ${lastStatus.status})` : `job ${jobId} ${outcome}${reason}`);
    this.name = 'JobOutcomeError';
  }
}

export interface WatchOptions {
  /** Between two status requests (default 30 s). */
  intervalMs?: number;
  /** Overall limit (default 24 h, the Batch API's own window). */
  timeoutMs?: number;
  /** Called with every status answer, the terminal one included. */
  onStatus?: (status: JobStatus) => void;
  signal?: AbortSignal;
}

/** What the seed scheme signs for a route (SPEC §4): the job id, the canonical lots, or the raw query string. */
function seedSubject(schemaPath: string, jobId: unknown, url: string, body: string | undefined): string {
  if (typeof jobId === 'string') return jobId;
  if (schemaPath === '/api/v1/generate-descriptions') return canonicalJson((JSON.parse(body ?? '{}') as { lots?: unknown }).lots ?? null);
  return new URL(url).search.slice(1);
}

/** An openapi-fetch middleware that signs each request as it leaves, over the exact bytes and URL sent. */
export function signingMiddleware(auth: ClientAuth): Middleware {
  const signer = createRequestSigner(auth);
  const seed = typeof auth === 'string';
  return {
    async onRequest({ request, schemaPath, params }) {
      const body = request.body === null ? undefined : await request.clone().text();
      const subject = seed ? seedSubject(schemaPath, params.path?.job_id, request.url, body) : '';
      const headers = signer({ method: request.method, url: request.url, body, seedSubject: subject });
      for (const [name, value] of Object.entries(headers)) request.headers.set(name, value);
      return request;
    },
  };
}

/** The raw typed client (every route of the document), signing with `auth`. */
export function createGenerationApi(baseUrl: string, auth: ClientAuth, options: { fetch?: (request: Request) => Promise<Response> } = {}) {
  const api = createClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, ''), fetch: options.fetch });
  api.use(signingMiddleware(auth));
  return api;
}

function apiError(response: Response, error: unknown): GenerationApiError {
  const body = error as Partial<ApiErrorBody> | string | undefined;
  if (typeof body === 'object' && body !== null && typeof body.code === 'string' && typeof body.message === 'string') {
    return new GenerationApiError(response.status, { error: body.error ?? response.statusText, ...body } as ApiErrorBody);
  }
  const text = typeof body === 'string' && body ? body : response.statusText;
  return new GenerationApiError(response.status, {
    error: response.statusText || 'HTTP error',
    message: text,
    code: `HTTP_${response.status}`,
  });
}

/** openapi-fetch's answer as data, or a GenerationApiError. */
function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw apiError(result.response, result.error);
  return result.data as T;
}

export class GenerationClient {
  /** Every route of the OpenAPI document, typed by path (`client.api.GET('/api/v1/batch-status/{job_id}', …)`). */
  readonly api: Client<paths>;

  constructor(baseUrl: string, auth: ClientAuth, options: { fetch?: (request: Request) => Promise<Response> } = {}) {
    this.api = createGenerationApi(baseUrl, auth, options);
  }

  /**
   * POST /api/v1/generate-descriptions: 1 lot → the synchronous result (200), 2+ lots → the accepted job (201),
   * `dry_run: true` → the estimate (200).
   */
  async generate(request: GenerateRequest, options: { idempotencyKey?: string } = {}): Promise<SyncResult | AcceptedJob | DryRunEstimate> {
    const headers = options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : undefined;
    return unwrap(await this.api.POST('/api/v1/generate-descriptions', { body: request, headers }));
  }

  /** `generate` for a batch (2+ lots): the accepted job. */
  async submit(request: GenerateRequest, options: { idempotencyKey?: string } = {}): Promise<AcceptedJob> {
    const answer = await this.generate(request, options);
    if ('dry_run' in answer) throw new TypeError('a dry run is answered with an estimate: use generate()');
    if ('lots' in answer) throw new TypeError('a single lot is answered synchronously');
    return answer;
  }

  status(jobId: string): Promise<JobStatus> {
    return this.api.GET('/api/v1/batch-status/{job_id}', { params: { path: { job_id: jobId } } }).then(unwrap);
  }

  /** Results of a finished job (a failed or cancelled one too); JobNotCompletedError while it runs. */
  async results(jobId: string): Promise<JobResults> {
    const answer = unwrap(await this.api.GET('/api/v1/batch-results/{job_id}', { params: { path: { job_id: jobId } } }));
    if (!('results' in answer)) throw new JobNotCompletedError(answer);
    return answer;
  }

  /**
   * Streams the results document into `file` (written beside it first, renamed when complete: never a half file
   * under that name). JobNotCompletedError while the job runs. Resolves with the bytes written.
   */
  async download(jobId: string, file: string): Promise<number> {
    const { response, error } = await this.api.GET('/api/v1/batch-results/{job_id}/download', {
      params: { path: { job_id: jobId } },
      parseAs: 'stream',
    });
    if (error !== undefined || !response.ok) throw apiError(response, error);
    if (response.status === 202) throw new JobNotCompletedError((await response.json()) as JobNotCompleted);
    if (!response.body) throw new GenerationApiError(response.status, { error: 'Empty answer', message: 'no body', code: 'HTTP_EMPTY' });
    const partial = `${file}.part`;
    let bytes = 0;
    const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    source.on('data', (chunk: Buffer) => (bytes += chunk.length));
    try {
      await pipeline(source, createWriteStream(partial));
      await rename(partial, file);
    } catch (failure) {
      await rm(partial, { force: true });
      throw failure;
    }
    return bytes;
  }

  cancel(jobId: string): Promise<CancelledJob> {
    return this.api.POST('/api/v1/batch-jobs/{job_id}/cancel', { params: { path: { job_id: jobId } } }).then(unwrap);
  }

  /** GET /api/v1/batch-jobs (newest first); the seed signature covers the query string exactly as sent. */
  list(query: JobListQuery = {}): Promise<JobList> {
    return this.api.GET('/api/v1/batch-jobs', { params: { query } }).then(unwrap);
  }

  /**
   * Polls the job's status every `intervalMs` until it is terminal and resolves with that last status, whatever it is;
   * JobOutcomeError `timeout` past `timeoutMs` (the last poll happens at the deadline).
   */
  async watch(jobId: string, { intervalMs = 30_000, timeoutMs = 24 * 3600_000, onStatus, signal }: WatchOptions = {}): Promise<JobStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.status(jobId);
      onStatus?.(state);
      if (TERMINAL_STATUSES.includes(state.status)) return state;
      const left = deadline - Date.now();
      if (left <= 0) throw new JobOutcomeError(jobId, 'timeout', state);
      await sleep(Math.min(intervalMs, left), undefined, { signal });
    }
  }

  /** Polls until the job is terminal, then returns its results; JobOutcomeError if it failed, was cancelled or timed out. */
  async waitForResults(jobId: string, options: WatchOptions = {}): Promise<JobResults> {
    const last = await this.watch(jobId, options);
    if (last.status !== 'completed') throw new JobOutcomeError(jobId, last.status as 'failed' | 'cancelled', last);
    return this.results(jobId);
  }
}
