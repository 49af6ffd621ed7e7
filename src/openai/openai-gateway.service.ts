import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, InvalidWebhookSignatureError } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { Response } from 'openai/resources/responses/responses';
import { Registry } from 'prom-client';
import { withRetries, retryAfterFromHeaders } from '../common/retry/index.js';
import { addSpanEvent, annotateActiveSpan, withSpan, type SpanAttributes } from '../common/tracing/tracing.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsRegistry } from '../common/metrics/metrics-registry.module.js';
import { uploadBatchFile, UploadHttpError } from './batch-file.uploader.js';
import { OPENAI_BATCH_LIMITS, writeBatchParts, type BatchFilePart, type BatchPartLimits } from './batch-file.writer.js';
import { toBatchSnapshot } from './batch-snapshot.mapper.js';
import { GatewayMetricsRecorder, type GatewayOperation } from './openai-gateway.metrics.js';
import type {
  BatchResultLine,
  BatchSnapshot,
  BatchStageName,
  CallGuard,
  GatewayRequest,
  ParsedResult,
  ResponseCreateParamsNonStreaming,
  SubmittedBatch,
} from './openai-gateway.types.js';
import { RateLimiter } from './rate-limiter.js';
import { OPENAI_REQUEST_BUDGET, type RequestBudget } from './request-budget.js';
import { failure, parseResponseBody } from './response-body.parser.js';
import { isTransientStatus, parseResultLine } from './result-line.parser.js';
import { DEFAULT_RETRY_POLICY, gatewayBackoff, type RetryPolicy } from './retry-policy.js';
import { markUpstreamError } from '../common/errors/upstream-error.js';

export type { CallGuard } from './openai-gateway.types.js';

/** Overrides for tests and tuning; production uses the defaults. */
export interface OpenAiGatewayOptions {
  /** Where a stage is split into several batches (OpenAI: 50,000 requests, 200 MB). */
  batchLimits?: Partial<BatchPartLimits>;
  retry?: Partial<RetryPolicy>;
  /** Attempts for file and batch operations (upload, create, retrieve, list, cancel, download). */
  batchOperationAttempts?: number;
  /** Batches per page when listing (OpenAI allows 1–100). */
  listPageSize?: number;
}
export const OPENAI_GATEWAY_OPTIONS = Symbol('OPENAI_GATEWAY_OPTIONS');

/** Counters of this process (monotonic) plus the limiter's current state; Prometheus gets them as gs_openai_* too. */
export interface GatewayMetrics {
  /** HTTP calls to OpenAI, retries included. */
  requests: number;
  retries: number;
  /** 429 answers received. */
  rateLimited: number;
  /** Direct calls that had to queue at the local limiter, and for how long in all. */
  rateLimitWaits: number;
  rateLimitWaitedMs: number;
  /** Direct calls that ended without a usable answer from OpenAI (after retries). */
  failedCalls: number;
  filesUploaded: number;
  batchesCreated: number;
  inFlight: number;
}

interface CallFailure {
  transient: boolean;
  description: string;
  message: string;
  status?: number;
  retryAfterMs?: number;
}

const BATCH_ENDPOINT = '/v1/responses';
const SERVICE_TAG = 'generation-service';
/** A 190 MB upload is not a 2-minute affair. */
const UPLOAD_TIMEOUT_MS = 15 * 60_000;

/**
 * The only door to OpenAI (or the emulator, by OPENAI_BASE_URL), and only a
 * door: it takes request lines and returns batches and results, with
 * retries, rate limits, batch splitting and the one correct way to read a
 * Responses body. It knows no prompt and calls nothing back: what to ask
 * lives in src/vision and src/translation, what to record in the pipeline.
 */
@Injectable()
export class OpenAiGateway {
  private readonly logger = new Logger(OpenAiGateway.name);
  private readonly client: OpenAI;
  private readonly limiter: RateLimiter;
  private readonly limits: BatchPartLimits;
  private readonly retry: RetryPolicy;
  private readonly batchAttempts: number;
  private readonly listPageSize: number;
  private readonly rpm: RequestBudget;
  private readonly uploadTimeoutMs: number;
  private readonly recorder: GatewayMetricsRecorder;
  private readonly counters = {
    requests: 0,
    retries: 0,
    rateLimited: 0,
    failedCalls: 0,
    filesUploaded: 0,
    batchesCreated: 0,
    budgetWaits: 0,
    budgetWaitedMs: 0,
  };

  constructor(
    private readonly config: AppConfig,
    @Optional() @Inject(OPENAI_GATEWAY_OPTIONS) options: OpenAiGatewayOptions | null = null,
    @Optional() @Inject(OPENAI_REQUEST_BUDGET) budget: RequestBudget | null = null,
    @Optional() @Inject(MetricsRegistry) registry: MetricsRegistry | null = null,
  ) {
    const openai = config.openai;
    // SDK retries off: the gateway retries itself so Retry-After, counters and aborts behave one way everywhere.
    this.client = new OpenAI({ apiKey: openai.apiKey, baseURL: openai.baseUrl, maxRetries: 0, timeout: openai.requestTimeoutMs });
    // With the deployment-wide budget (the application) the local limiter keeps concurrency and 429 pauses only;
    // without one (a gateway built alone) it also paces OPENAI_MAX_RPM for this process.
    this.limiter = new RateLimiter({ maxPerMinute: budget ? Infinity : openai.maxRpm, maxConcurrent: openai.maxConcurrent });
    this.rpm = budget ?? { take: () => Promise.resolve(0) };
    // No upload may outlast a claim: the claim's signal aborts it anyway, the timeout bounds it even if renewal stalls.
    this.uploadTimeoutMs = Math.min(UPLOAD_TIMEOUT_MS, config.pipeline.claimLeaseMs);
    this.limits = { ...OPENAI_BATCH_LIMITS, ...options?.batchLimits };
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options?.retry };
    this.batchAttempts = options?.batchOperationAttempts ?? openai.maxRetries + 1;
    this.listPageSize = options?.listPageSize ?? 100;
    // A gateway built alone (tests, tools) still counts, in a registry nobody scrapes.
    this.recorder = new GatewayMetricsRecorder(registry ?? new Registry(), () => this.limiter.stats);
  }

  get metrics(): GatewayMetrics {
    const limiter = this.limiter.stats;
    const { budgetWaits, budgetWaitedMs, ...counters } = this.counters;
    // Waits for the deployment-wide budget count like waits at the local limiter.
    return {
      ...counters,
      rateLimitWaits: limiter.waits + budgetWaits,
      rateLimitWaitedMs: limiter.waitedMs + budgetWaitedMs,
      inFlight: limiter.inFlight,
    };
  }

  /**
   * Writes the stage's JSONL part by part, uploads each and creates its
   * batch, yielding each batch before the next part is even written: the
   * caller records the id in its loop body first (reference 001: an id that
   * is not saved at once can be lost). Leaving the loop early (an error while
   * recording) stops the submission there.
   */
  async *submitBatches(
    lines: AsyncIterable<GatewayRequest> | Iterable<GatewayRequest>,
    args: CallGuard & { jobId: string; stage: BatchStageName },
  ): AsyncGenerator<SubmittedBatch, void, undefined> {
    const guard = { signal: args.signal, fence: args.fence };
    for await (const part of writeBatchParts(lines, this.limits, BATCH_ENDPOINT)) {
      const fileId = await this.uploadPart(args.jobId, args.stage, part, guard);
      const batchId = await this.createBatch(args.jobId, args.stage, part.part, fileId, guard);
      this.logger.log({
        message: `${args.stage} part ${part.part} → ${batchId} (${part.customIds.length} requests, ${part.bytes} bytes)`,
        job_id: args.jobId,
        openai_batch_id: batchId,
      });
      yield {
        part: part.part,
        openaiBatchId: batchId,
        inputFileId: fileId,
        requestCount: part.customIds.length,
        customIds: part.customIds,
      };
    }
  }

  async retrieveBatch(openaiBatchId: string): Promise<BatchSnapshot> {
    return toBatchSnapshot(
      await this.call('batches.retrieve', this.batchAttempts, () => this.client.batches.retrieve(openaiBatchId), undefined, false, {
        'openai.batch_id': openaiBatchId,
      }),
    );
  }

  async cancelBatch(openaiBatchId: string): Promise<BatchSnapshot> {
    return toBatchSnapshot(
      await this.call('batches.cancel', this.batchAttempts, () => this.client.batches.cancel(openaiBatchId), undefined, false, {
        'openai.batch_id': openaiBatchId,
      }),
    );
  }

  /**
   * Deletes a file at OpenAI (a batch's input, output or error file, once ingested or when its job is deleted:
   * customer data should not outlive its use there). A file that is already gone (404) counts as deleted.
   */
  async deleteFile(fileId: string): Promise<void> {
    try {
      await this.call('files.delete', this.batchAttempts, () => this.client.files.delete(fileId), undefined, false, {
        'openai.file_id': fileId,
      });
    } catch (error) {
      if (error instanceof APIError && error.status === 404) return;
      throw error;
    }
  }

  /** Newest first, page by page, stopping at the first batch created before `createdAfter`. */
  async *listBatches(args: { createdAfter?: Date } = {}): AsyncIterable<BatchSnapshot> {
    let after: string | undefined;
    for (;;) {
      const cursor = after;
      const page = await this.call('batches.list', this.batchAttempts, () =>
        this.client.batches.list(cursor ? { limit: this.listPageSize, after: cursor } : { limit: this.listPageSize }),
      );
      for (const batch of page.data) {
        const snapshot = toBatchSnapshot(batch);
        if (args.createdAfter && snapshot.createdAt < args.createdAfter) return;
        yield snapshot;
      }
      if (!page.has_more || page.data.length === 0) return;
      after = page.data[page.data.length - 1].id;
    }
  }

  /**
   * Verifies and reads one of OpenAI's webhooks (Standard Webhooks signature,
   * checked by the SDK's `webhooks.unwrap` with `secret`). Null when the
   * signature or timestamp does not verify.
   */
  async unwrapWebhook(
    payload: string,
    headers: Record<string, string | string[] | undefined>,
    secret: string,
  ): Promise<{ id: string; type: string; objectId: string | null } | null> {
    const flat: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers))
      if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
    try {
      const event = await this.client.webhooks.unwrap(payload, flat, secret);
      const data = event.data as { id?: unknown } | undefined;
      return { id: event.id, type: event.type, objectId: typeof data?.id === 'string' ? data.id : null };
    } catch (error) {
      if (error instanceof InvalidWebhookSignatureError) return null;
      throw error;
    }
  }

  /**
   * Streams an output or error file line by line (a 100 MB file is never one
   * string). If the connection drops mid-file this throws; ingestion is keyed
   * by custom_id, so the caller simply reads the file again.
   */
  async *readResults(fileId: string, signal?: AbortSignal): AsyncIterable<BatchResultLine> {
    const response = await this.call(
      'files.content',
      this.batchAttempts,
      () => this.client.files.content(fileId, { signal }),
      signal,
      false,
      {
        'openai.file_id': fileId,
      },
    );
    if (!response.body) return;
    const input = Readable.fromWeb(response.body);
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        const parsed = parseResultLine(line);
        if (parsed) yield parsed;
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }

  /**
   * One direct Responses call behind the per-process limiter, retried on
   * 429/5xx/timeouts/connection errors. Never throws for an OpenAI failure:
   * the lot gets a ParsedResult saying what happened. Rejects with
   * `signal.reason` when the caller's signal aborts (sync-mode deadline).
   */
  async respond(body: ResponseCreateParamsNonStreaming, options: CallGuard & { maxAttempts?: number } = {}): Promise<ParsedResult> {
    const { signal } = options;
    const maxAttempts = Math.max(1, options.maxAttempts ?? this.config.openai.maxRetries + 1);
    try {
      const response: Response = await this.call(
        'responses.create',
        maxAttempts,
        async () => {
          const release = await this.limiter.acquire(signal);
          try {
            const waited = await this.rpm.take(signal);
            if (waited > 0) {
              this.counters.budgetWaits++;
              this.counters.budgetWaitedMs += waited;
            }
            await options.fence?.();
            // Timed from here: the latency of the call, not of the wait at the limiter.
            return await this.recorder.time('responses.create', () => this.client.responses.create(body, { signal }), signal);
          } finally {
            release();
          }
        },
        signal,
        true,
        { 'openai.model': body.model },
      );
      return parseResponseBody(response);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const classified = classify(err, this.retry.maxRetryAfterMs);
      if (!classified) throw err; // a bug, not an OpenAI failure
      this.counters.failedCalls++;
      return failure('request_failed', classified.message, classified.transient, undefined, classified.status);
    }
  }

  private async uploadPart(jobId: string, stage: BatchStageName, part: BatchFilePart, guard: CallGuard): Promise<string> {
    const filename = `${jobId}-${stage}-part${part.part}.jsonl`;
    const file = await this.call(
      'files.upload',
      this.batchAttempts,
      async () => {
        await guard.fence?.();
        try {
          return await uploadBatchFile({
            baseURL: this.client.baseURL,
            apiKey: this.config.openai.apiKey,
            path: part.path,
            filename,
            timeoutMs: this.uploadTimeoutMs,
            signal: guard.signal,
          });
        } catch (err) {
          if (guard.signal?.aborted) throw guard.signal.reason;
          // Same errors as the SDK's, so one classification decides what to retry.
          if (err instanceof UploadHttpError) throw APIError.generate(err.status, err.body as object | undefined, undefined, err.headers);
          throw new APIConnectionError({ message: `File upload failed: ${err instanceof Error ? err.message : String(err)}` });
        }
      },
      guard.signal,
      false,
      { job_id: jobId, stage, 'openai.batch_part': part.part },
    );
    this.counters.filesUploaded++;
    return file.id;
  }

  /**
   * Creates the batch. A create whose answer was lost (timeout, 5xx) may have
   * happened anyway, so before trying again the recent batches are searched
   * for this input file: the retry adopts that batch instead of paying twice.
   */
  private async createBatch(jobId: string, stage: BatchStageName, part: number, inputFileId: string, guard: CallGuard): Promise<string> {
    const { signal } = guard;
    const batch: Batch = await this.call(
      'batches.create',
      this.batchAttempts,
      async (attempt) => {
        if (attempt > 1) {
          const existing = (await this.client.batches.list({ limit: 100 }, { signal })).data.find((b) => b.input_file_id === inputFileId);
          if (existing) {
            annotateActiveSpan({ 'openai.batch_id': existing.id, 'openai.batch_adopted': true });
            return existing;
          }
        }
        // The last moment to find out that another worker holds the job now: after this, the batch is paid for.
        await guard.fence?.();
        const created = await this.client.batches.create(
          {
            input_file_id: inputFileId,
            endpoint: BATCH_ENDPOINT,
            completion_window: '24h',
            metadata: { job_id: jobId, stage, part: String(part), service: SERVICE_TAG },
          },
          { signal },
        );
        annotateActiveSpan({ 'openai.batch_id': created.id });
        return created;
      },
      signal,
      false,
      { job_id: jobId, stage, 'openai.batch_part': part, 'openai.input_file_id': inputFileId },
    );
    this.counters.batchesCreated++;
    return batch.id;
  }

  /**
   * Runs `fn` up to `maxAttempts` times, waiting between transient failures (Retry-After first, else backoff),
   * inside one `openai.<operation>` span (retries are its events).
   */
  private call<T>(
    operation: GatewayOperation,
    maxAttempts: number,
    fn: (attempt: number) => Promise<T>,
    signal?: AbortSignal,
    direct = false,
    attributes: SpanAttributes = {},
  ): Promise<T> {
    return withSpan(`openai.${operation}`, { 'openai.operation': operation, ...attributes }, () =>
      this.attempt(operation, maxAttempts, fn, signal, direct),
    );
  }

  private attempt<T>(
    operation: GatewayOperation,
    maxAttempts: number,
    fn: (attempt: number) => Promise<T>,
    signal: AbortSignal | undefined,
    direct: boolean,
  ): Promise<T> {
    const calls = withRetries(
      (attempt) => {
        this.counters.requests++;
        // A direct call times its own HTTP request (after the limiter); the others are one request each.
        return direct ? fn(attempt) : this.recorder.time(operation, () => fn(attempt), signal);
      },
      {
        attempts: maxAttempts,
        backoff: gatewayBackoff(this.retry),
        signal,
        decide: (err) => {
          const classified = classify(err, this.retry.maxRetryAfterMs);
          if (classified?.status === 429) this.counters.rateLimited++;
          return classified?.transient ? { retry: true, delayMs: classified.retryAfterMs } : { retry: false };
        },
        onRetry: ({ error, attempt, delayMs }) => {
          const classified = classify(error, this.retry.maxRetryAfterMs);
          // OpenAI's limits are per organisation: hold back every direct call, not just this one.
          if (direct && classified?.status === 429) this.limiter.pauseFor(delayMs);
          this.counters.retries++;
          this.recorder.retries.inc({ operation });
          const description = classified?.description ?? 'error';
          addSpanEvent('retry', { attempt, 'retry.delay_ms': delayMs, error: description });
          this.logger.warn(`OpenAI ${operation} failed (${description}); retry ${attempt}/${maxAttempts - 1} in ${delayMs} ms`);
        },
      },
    );
    // OpenAI's failures leave marked, so callers never take an unreachable OpenAI for an unreachable database.
    return calls.catch((err: unknown) => {
      throw classify(err, this.retry.maxRetryAfterMs) ? markUpstreamError(err, 'openai') : err;
    });
  }
}

/** What a thrown SDK error means for retrying; undefined for errors that are not OpenAI's (bugs). */
function classify(err: unknown, maxRetryAfterMs: number): CallFailure | undefined {
  if (err instanceof APIConnectionTimeoutError)
    return { transient: true, description: 'timeout', message: 'The request to OpenAI timed out.' };
  if (err instanceof APIConnectionError) {
    // Duck-typed: undici's errors may come from another realm (instanceof Error fails under test VMs).
    const inner = (err.cause as { message?: unknown; name?: unknown } | undefined) ?? {};
    const cause =
      typeof inner.message === 'string' && inner.message !== ''
        ? ` (${typeof inner.name === 'string' ? inner.name : 'Error'}: ${inner.message})`
        : '';
    return {
      transient: true,
      description: `connection error: ${err.message}${cause}`,
      message: `Could not reach OpenAI: ${err.message}${cause}`,
    };
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const body = err.error as { message?: unknown } | undefined;
    const message = typeof body?.message === 'string' ? body.message : err.message;
    return {
      transient: isTransientStatus(err.status),
      description: `HTTP ${err.status}`,
      message,
      status: err.status,
      retryAfterMs: retryAfterFromHeaders(err.headers as Headers | undefined, maxRetryAfterMs),
    };
  }
  return undefined;
}
