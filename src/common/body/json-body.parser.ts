import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ApiException } from '../errors/api-exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { payloadTooLarge } from './body-reader.js';
import { DEFAULT_BODY_LIMITS, PARSER_POOL, type BodyLimits } from './json-limits.js';
import type { JsonBodyTask } from './json-body.worker.js';
import { parseJsonBody, type JsonBodyOutcome, type ParsedJsonBody } from './parse-json-body.js';

export const BODY_PARSING_OPTIONS = Symbol('BODY_PARSING_OPTIONS');

/** Tests shrink the limits and the pool's heap to prove the logic without 100 MB bodies. */
export interface BodyParsingOptions {
  limits?: Partial<BodyLimits>;
  pool?: { maxThreads?: number; maxQueue?: number; resourceLimits?: ResourceLimits };
}

const WORKER = 'json-body.worker.js';

/**
 * The worker script: next to this module in the build (`npm start`, the
 * bench); from the build's mirror of this folder when this module runs from
 * TypeScript sources (Jest), since a thread cannot load `.ts` files.
 */
export function resolveWorkerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, WORKER), resolve(here, '../../../dist/src/common/body', WORKER)];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`JSON parser worker not found (looked for ${candidates.join(', ')}): run \`npm run build\``);
  return found;
}

function refusal(outcome: Exclude<JsonBodyOutcome, ParsedJsonBody>): ApiException {
  switch (outcome.kind) {
    case 'depth':
      return new ApiException(400, ErrorCode.JsonTooDeep, outcome.message);
    case 'surrogate':
      return new ApiException(400, ErrorCode.ValidationFailed, outcome.message, { problems: [outcome.message], field: outcome.path });
    case 'utf8':
      return new ApiException(400, ErrorCode.InvalidJson, outcome.message);
    case 'syntax':
      return new ApiException(400, ErrorCode.InvalidJson, 'Request body must be valid JSON');
  }
}

/**
 * Parses request bodies once each: small ones on the event loop, large ones
 * in a pool of threads with bounded heaps, so that neither a costly body nor
 * three legitimate 50,000-lot ones stall `/health/live` and polling.
 */
@Injectable()
export class JsonBodyParser implements OnApplicationShutdown {
  private readonly logger = new Logger('JsonBody');
  readonly limits: BodyLimits;
  private readonly workerFile: string;
  private pool?: Piscina<JsonBodyTask, JsonBodyOutcome>;
  /** Bodies handed to the pool so far (tests and the bench check that large bodies really went there). */
  pooledBodies = 0;
  /** Pooled bodies built into objects a slice per event-loop turn, after authentication (BuildBodyGuard). */
  bodiesBuiltInTurns = 0;
  /** Pooled bodies built all at once, because something read `req.body` before the BuildBodyGuard ran. */
  bodiesBuiltAtOnce = 0;

  constructor(@Inject(BODY_PARSING_OPTIONS) private readonly options: BodyParsingOptions) {
    this.limits = { ...DEFAULT_BODY_LIMITS, ...options.limits };
    this.workerFile = resolveWorkerFile(); // fail at start, not on the first large body
  }

  /** Parses `bytes` (already within the size, value and depth limits); throws the ApiException to answer. */
  async parse(bytes: Buffer): Promise<ParsedJsonBody> {
    const outcome =
      bytes.length <= this.limits.inlineMaxBytes ? parseJsonBody(bytes, this.limits.maxDepth, 'value') : await this.inPool(bytes);
    if (!outcome.ok) throw refusal(outcome);
    return outcome;
  }

  private async inPool(bytes: Buffer): Promise<JsonBodyOutcome> {
    const pool = (this.pool ??= this.createPool());
    this.pooledBodies++;
    try {
      return await pool.run({ bytes, maxDepth: this.limits.maxDepth });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = error instanceof Error ? error.message : String(error);
      if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.logger.warn(`a ${bytes.length}-byte body exhausted its parser thread's heap; the thread was replaced`);
        throw payloadTooLarge('Request body is too costly to parse: it exhausted the memory allowed for one body', {
          max_bytes: this.limits.maxBytes,
        });
      }
      if (/queue is at limit/i.test(message)) {
        throw new ApiException(503, ErrorCode.ServiceUnavailable, 'Too many large bodies are being parsed; retry shortly', undefined, {
          'Retry-After': '5',
        });
      }
      throw error;
    }
  }

  private createPool(): Piscina<JsonBodyTask, JsonBodyOutcome> {
    const options = this.options.pool ?? {};
    return new Piscina<JsonBodyTask, JsonBodyOutcome>({
      filename: this.workerFile,
      name: 'default',
      minThreads: 0,
      maxThreads: options.maxThreads ?? PARSER_POOL.maxThreads,
      maxQueue: options.maxQueue ?? PARSER_POOL.maxQueue,
      idleTimeout: PARSER_POOL.idleTimeoutMs,
      resourceLimits: { ...PARSER_POOL.resourceLimits, ...options.resourceLimits },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.destroy();
    this.pool = undefined;
  }
}
