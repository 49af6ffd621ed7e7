import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ResponseCreateParamsNonStreaming } from 'openai/resources/responses/responses';
import { AppConfig } from '../config/app-config.js';
import { uploadBatchFile, UploadHttpError } from './batch-file.uploader.js';
import { OPENAI_BATCH_LIMITS, writeBatchParts, type BatchFilePart, type BatchPartLimits } from './batch-file.writer.js';
import { toBatchSnapshot } from './batch-snapshot.mapper.js';
import {
  buildTranslationRequest,
  buildVisionRequest,
  outputBudget,
  parseTranslation,
  retryOutputBudget,
  type ModelSettings,
  type RequestOverrides,
} from './openai-request.builder.js';
import type {
  BatchResultLine,
  BatchSnapshot,
  BatchStageName,
  BudgetRetry,
  GatewayRequest,
  ParsedResult,
  SubmittedBatch,
} from './openai-gateway.types.js';
import { RateLimiter } from './rate-limiter.js';
import { OPENAI_REQUEST_BUDGET, type RequestBudget } from './request-budget.js';
import { failure, parseResponseBody, type FullUsage } from './response-body.parser.js';
import { isTransientStatus, parseResultLine } from './result-line.parser.js';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs, waitMs, type RetryPolicy } from './retry-policy.js';

/** Overrides for tests and tuning; production uses the defaults. */
export interface OpenAiGatewayOptions {
  /** Where a stage is split into several batches (OpenAI: 50,000 requests, 200 MB). */
  batchLimits?: Partial<BatchPartLimits>;
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
  /** Attempts for file and batch operations (upload, create, retrieve, list, cancel, download). */
  batchOperationAttempts?: number;
  /** Batches per page when listing (OpenAI allows 1–100). */
  listPageSize?: number;
}
export const OPENAI_GATEWAY_OPTIONS = Symbol('OPENAI_GATEWAY_OPTIONS');

/** Counters for the metrics endpoint (monotonic, per process) plus the limiter's current state. */
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

/** What ties a billable call to the caller's claim: aborted with it, and fenced right before the request leaves. */
export interface CallGuard {
  signal?: AbortSignal;
  fence?: () => Promise<void>;
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
 * The only door to OpenAI (or the emulator, by OPENAI_BASE_URL). Everything
 * the pipeline needs from the provider goes through here, so retries, rate
 * limits, batch splitting and the one correct way to read a Responses body
 * live in one place.
 */
@Injectable()
export class OpenAiGateway {
  private readonly logger = new Logger(OpenAiGateway.name);
  private readonly client: OpenAI;
  private readonly limiter: RateLimiter;
  private readonly models: ModelSettings;
  private readonly limits: BatchPartLimits;
  private readonly retry: Omit<RetryPolicy, 'maxAttempts'>;
  private readonly batchAttempts: number;
  private readonly listPageSize: number;
  private readonly rpm: RequestBudget;
  private readonly uploadTimeoutMs: number;
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
  ) {
    const openai = config.openai;
    // SDK retries off: the gateway retries itself so Retry-After, counters and aborts behave one way everywhere.
    this.client = new OpenAI({ apiKey: openai.apiKey, baseURL: openai.baseUrl, maxRetries: 0, timeout: openai.requestTimeoutMs });
    // With the deployment-wide budget (the application) the local limiter keeps concurrency and 429 pauses only;
    // without one (a gateway built alone) it also paces OPENAI_MAX_RPM for this process.
    this.limiter = new RateLimiter({ maxPerMinute: budget ? Infinity : openai.maxRpm, maxConcurrent: openai.maxConcurrent });
    this.rpm = budget ?? { take: async () => 0 };
    // No upload may outlast a claim: the claim's signal aborts it anyway, the timeout bounds it even if renewal stalls.
    this.uploadTimeoutMs = Math.min(UPLOAD_TIMEOUT_MS, config.pipeline.claimLeaseMs);
    this.models = openai;
    this.limits = { ...OPENAI_BATCH_LIMITS, ...options?.batchLimits };
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options?.retry };
    this.batchAttempts = options?.batchOperationAttempts ?? openai.maxRetries + 1;
    this.listPageSize = options?.listPageSize ?? 100;
  }

  visionRequest(
    input: { lotId: string; additionalInfo: string | null; imageUrls: string[] },
    overrides?: RequestOverrides,
  ): Record<string, unknown> {
    return buildVisionRequest(this.models, input, overrides);
  }

  translationRequest(input: { html: string; languages: string[] }, overrides?: RequestOverrides): Record<string, unknown> {
    return buildTranslationRequest(this.models, input, overrides);
  }

  /**
   * The retry an answer cut at `max_output_tokens` earns: the record to keep
   * (with the budget of the retry), or null when it earns none (another
   * failure, another reason, or a budget already at the model's limit).
   */
  budgetRetryFor(
    result: ParsedResult,
    args: { stage: BatchStageName; via: BudgetRetry['via']; model?: string; maxOutputTokens?: number },
  ): BudgetRetry | null {
    if (result.ok || result.kind !== 'incomplete' || result.incomplete?.reason !== 'max_output_tokens') return null;
    const model = args.model ?? (args.stage === 'vision' ? this.models.visionModel : this.models.translationModel);
    // OpenAI echoes the request's max_output_tokens in the answer; the configured default otherwise.
    const spent = result.incomplete.maxOutputTokens ?? args.maxOutputTokens ?? outputBudget(model, this.models);
    const next = retryOutputBudget(model, spent);
    if (next === null) return null;
    return {
      stage: args.stage,
      via: args.via,
      reason: 'max_output_tokens',
      max_output_tokens: spent,
      retry_max_output_tokens: next,
      usage: result.usage,
      at: new Date().toISOString(),
    };
  }

  parseTranslation(text: string, languages: string[]) {
    return parseTranslation(text, languages);
  }

  parseResponseBody(body: unknown): ParsedResult {
    return parseResponseBody(body);
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
   * Writes the stage's JSONL part by part, uploads each and creates its batch,
   * reporting each batch through `onCreated` before the next part is even
   * written (reference 001: an id that is not saved at once can be lost).
   */
  async submitBatch(args: {
    jobId: string;
    stage: BatchStageName;
    requests: AsyncIterable<GatewayRequest> | Iterable<GatewayRequest>;
    onCreated: (batch: SubmittedBatch) => Promise<void>;
    /** Aborts every upload and create in flight (the caller lost its claim, or is shutting down). */
    signal?: AbortSignal;
    /** Verifies the caller still holds the job; called immediately before each upload and each create. */
    fence?: () => Promise<void>;
  }): Promise<SubmittedBatch[]> {
    const submitted: SubmittedBatch[] = [];
    const guard = { signal: args.signal, fence: args.fence };
    await writeBatchParts(args.requests, this.limits, BATCH_ENDPOINT, async (part) => {
      const fileId = await this.uploadPart(args.jobId, args.stage, part, guard);
      const batchId = await this.createBatch(args.jobId, args.stage, part.part, fileId, guard);
      const batch: SubmittedBatch = {
        part: part.part,
        openaiBatchId: batchId,
        inputFileId: fileId,
        requestCount: part.customIds.length,
        customIds: part.customIds,
      };
      this.logger.log(
        `job ${args.jobId}: ${args.stage} part ${part.part} → ${batchId} (${batch.requestCount} requests, ${part.bytes} bytes)`,
      );
      submitted.push(batch);
      await args.onCreated(batch);
    });
    return submitted;
  }

  async retrieveBatch(openaiBatchId: string): Promise<BatchSnapshot> {
    return toBatchSnapshot(await this.call('retrieve batch', this.batchAttempts, () => this.client.batches.retrieve(openaiBatchId)));
  }

  async cancelBatch(openaiBatchId: string): Promise<BatchSnapshot> {
    return toBatchSnapshot(await this.call('cancel batch', this.batchAttempts, () => this.client.batches.cancel(openaiBatchId)));
  }

  /** Newest first, page by page, stopping at the first batch created before `createdAfter`. */
  async *listBatches(args: { createdAfter?: Date } = {}): AsyncIterable<BatchSnapshot> {
    let after: string | undefined;
    for (;;) {
      const cursor = after;
      const page = await this.call('list batches', this.batchAttempts, () =>
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
   * Streams an output or error file line by line (a 100 MB file is never one
   * string). If the connection drops mid-file this throws; ingestion is keyed
   * by custom_id, so the caller simply reads the file again.
   */
  async *readResults(fileId: string, signal?: AbortSignal): AsyncIterable<BatchResultLine> {
    const response = await this.call('download file', this.batchAttempts, () => this.client.files.content(fileId, { signal }), signal);
    if (!response.body) return;
    const input = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
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
  async respond(
    body: Record<string, unknown>,
    options: CallGuard & { maxAttempts?: number; budgetRetryStage?: BatchStageName } = {},
  ): Promise<ParsedResult> {
    const first = await this.respondOnce(body, options);
    if (!options.budgetRetryStage) return first;
    const model = typeof body.model === 'string' ? body.model : undefined;
    const maxOutputTokens = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined;
    const retry = this.budgetRetryFor(first, { stage: options.budgetRetryStage, via: 'direct', model, maxOutputTokens });
    if (!retry) return first;
    // Issue 16: reasoning tokens count against max_output_tokens; one more try with a larger budget.
    this.logger.warn(
      `OpenAI answer cut at max_output_tokens=${retry.max_output_tokens}; retrying once with ${retry.retry_max_output_tokens}`,
    );
    const second = await this.respondOnce({ ...body, max_output_tokens: retry.retry_max_output_tokens }, options);
    const usage = sumUsage(first.usage, second.usage);
    if (second.ok) return { ...second, usage, budgetRetry: retry };
    const error =
      second.kind === 'incomplete'
        ? `${second.error.replace(/\.$/, '')} (also with max_output_tokens=${retry.retry_max_output_tokens}).`
        : second.error;
    return { ...second, error, usage, budgetRetry: retry };
  }

  private async respondOnce(body: Record<string, unknown>, options: CallGuard & { maxAttempts?: number }): Promise<ParsedResult> {
    const { signal } = options;
    const maxAttempts = Math.max(1, options.maxAttempts ?? this.config.openai.maxRetries + 1);
    try {
      const response = await this.call(
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
            return await this.client.responses.create(body as unknown as ResponseCreateParamsNonStreaming, { signal });
          } finally {
            release();
          }
        },
        signal,
        true,
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
      'upload batch file',
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
    let attempt = 0;
    const { signal } = guard;
    const batch = await this.call(
      'create batch',
      this.batchAttempts,
      async () => {
        attempt++;
        if (attempt > 1) {
          const existing = (await this.client.batches.list({ limit: 100 }, { signal })).data.find((b) => b.input_file_id === inputFileId);
          if (existing) return existing;
        }
        // The last moment to find out that another worker holds the job now: after this, the batch is paid for.
        await guard.fence?.();
        return this.client.batches.create(
          {
            input_file_id: inputFileId,
            endpoint: BATCH_ENDPOINT,
            completion_window: '24h',
            metadata: { job_id: jobId, stage, part: String(part), service: SERVICE_TAG },
          },
          { signal },
        );
      },
      signal,
    );
    this.counters.batchesCreated++;
    return batch.id;
  }

  /** Runs `fn` up to `maxAttempts` times, waiting between transient failures (Retry-After first, else backoff). */
  private async call<T>(what: string, maxAttempts: number, fn: () => Promise<T>, signal?: AbortSignal, direct = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.counters.requests++;
        return await fn();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const classified = classify(err, this.retry.maxRetryAfterMs);
        if (classified?.status === 429) this.counters.rateLimited++;
        if (!classified?.transient || attempt >= maxAttempts) throw err;
        const delay = classified.retryAfterMs ?? backoffDelayMs(attempt, this.retry);
        // OpenAI's limits are per organisation: hold back every direct call, not just this one.
        if (direct && classified.status === 429) this.limiter.pauseFor(delay);
        this.counters.retries++;
        this.logger.warn(`OpenAI ${what} failed (${classified.description}); retry ${attempt}/${maxAttempts - 1} in ${delay} ms`);
        await waitMs(delay, signal);
      }
    }
  }
}

function sumUsage(a: ParsedResult['usage'], b: ParsedResult['usage']): FullUsage {
  return {
    input_tokens: (a.input_tokens ?? 0) + (b.input_tokens ?? 0),
    output_tokens: (a.output_tokens ?? 0) + (b.output_tokens ?? 0),
    reasoning_tokens: (a.reasoning_tokens ?? 0) + (b.reasoning_tokens ?? 0),
    total_tokens: (a.total_tokens ?? 0) + (b.total_tokens ?? 0),
  };
}

/** What a thrown SDK error means for retrying; undefined for errors that are not OpenAI's (bugs). */
function classify(err: unknown, maxRetryAfterMs: number): CallFailure | undefined {
  if (err instanceof APIConnectionTimeoutError)
    return { transient: true, description: 'timeout', message: 'The request to OpenAI timed out.' };
  if (err instanceof APIConnectionError) {
    // Duck-typed: undici's errors may come from another realm (instanceof Error fails under test VMs).
    const inner = (err.cause as { message?: unknown; name?: unknown } | undefined) ?? {};
    const cause = typeof inner.message === 'string' && inner.message !== '' ? ` (${String(inner.name ?? 'Error')}: ${inner.message})` : '';
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
      retryAfterMs: retryAfterMs(err.headers, maxRetryAfterMs),
    };
  }
  return undefined;
}
