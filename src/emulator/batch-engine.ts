import { ApiError, notFound } from './api-error.js';
import { newBatchObject, TERMINAL_STATUSES, type BatchObject, type BatchStatus } from './batch-object.js';
import { validateBatchInput, type BatchError, type InputLine } from './batch-validation.js';
import type { EmulatorClock } from './emulator-clock.js';
import type { BatchFaultEffect } from './faults.js';
import type { FileStore } from './file-store.js';
import { newId, newRequestId, stableHash } from './ids.js';
import type { ResponsesService } from './responses.service.js';
import type { StatsRecorder } from './stats.js';

export interface BatchEngineDeps {
  files: FileStore;
  responses: ResponsesService;
  stats: StatsRecorder;
  /** Time from `in_progress` to `completed`; validating and finalizing take a tenth of it each. */
  durationMs: number;
  /** Stamps and the waits between phases. */
  clock: EmulatorClock;
  log: (line: string) => void;
}

interface BatchRun {
  batch: BatchObject;
  fault: BatchFaultEffect;
  input?: Buffer;
  lines: InputLine[];
  /** Processing order (a permutation of line indices), which is also the output order. */
  order: number[];
  processed: number;
  outputLines: string[];
  errorLines: string[];
  /** A slice of requests is being run; cancel then waits for it. */
  busy: boolean;
}

/** Requests run in this many slices over the duration, so `request_counts` grows visibly. */
const SLICES = 10;
/** Requests of one slice run concurrently, up to this many at once (image downloads dominate). */
const CONCURRENCY = 16;

/** The Batch API lifecycle on an accelerated clock; all state in memory. */
export class BatchEngine {
  private readonly runs = new Map<string, BatchRun>();
  /** One per scheduled task: close() aborts them all. */
  private readonly timers = new Set<AbortController>();
  private closed = false;

  constructor(private readonly deps: BatchEngineDeps) {}

  create(inputFileId: string, endpoint: string, metadata: Record<string, string> | null, fault: BatchFaultEffect | undefined): BatchObject {
    const batch = newBatchObject(inputFileId, endpoint, metadata, this.nowSeconds());
    const run: BatchRun = { batch, fault: fault ?? {}, lines: [], order: [], processed: 0, outputLines: [], errorLines: [], busy: false };
    this.runs.set(batch.id, run);
    this.deps.stats.increment('batchesCreated');
    this.schedule(() => this.validate(run), this.phaseMs);
    return structuredClone(batch);
  }

  get(id: string): BatchObject {
    return structuredClone(this.require(id).batch);
  }

  /** Newest first. */
  list(): BatchObject[] {
    return [...this.runs.values()].map((run) => run.batch).reverse();
  }

  cancel(id: string): BatchObject {
    const run = this.require(id);
    const { batch } = run;
    if (batch.status === 'cancelling') return structuredClone(batch);
    if (TERMINAL_STATUSES.includes(batch.status)) {
      throw new ApiError(409, `Cannot cancel a batch with status '${batch.status}'.`, 'invalid_request_error');
    }
    batch.status = 'cancelling';
    batch.cancelling_at = this.nowSeconds();
    // A slice in flight finishes first (its results are kept); otherwise wind down now.
    if (!run.busy) this.schedule(() => this.finishCancel(run), this.phaseMs);
    return structuredClone(batch);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) timer.abort();
    this.timers.clear();
  }

  /** Unix seconds by the engine's clock, the unit of every OpenAI timestamp. */
  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now() / 1000);
  }

  private get phaseMs(): number {
    return Math.max(1, Math.round(this.deps.durationMs / 10));
  }

  private get sliceMs(): number {
    return Math.max(1, Math.round((this.deps.durationMs * 0.8) / SLICES));
  }

  private require(id: string): BatchRun {
    const run = this.runs.get(id);
    if (!run) throw notFound(`No batch found with id '${id}'.`);
    return run;
  }

  /** Waits never keep the process alive (the system clock's) and all die with close(). */
  private schedule(task: () => void | Promise<void>, ms: number): void {
    const timer = new AbortController();
    this.timers.add(timer);
    this.deps.clock.sleep(ms, timer.signal).then(
      () => {
        this.timers.delete(timer);
        if (this.closed) return;
        Promise.resolve(task()).catch((err: unknown) => this.deps.log(`emulator: batch task failed: ${String(err)}`));
      },
      () => this.timers.delete(timer), // closed
    );
  }

  private validate(run: BatchRun): void {
    const { batch, fault } = run;
    if (batch.status !== 'validating') return;
    const content = this.deps.files.tryContent(batch.input_file_id);
    if (!content) {
      return this.fail(run, [
        { code: 'file_not_found', message: `No such File object: ${batch.input_file_id}`, param: 'input_file_id', line: null },
      ]);
    }
    const result = validateBatchInput(content, batch.endpoint);
    if (!result.ok) return this.fail(run, result.errors);
    if (fault.fail === 'validation') {
      return this.fail(run, [
        { code: 'invalid_request', message: 'The batch input file failed validation (injected by the emulator).', param: null, line: 1 },
      ]);
    }
    if (fault.fail === 'token_limit_exceeded') {
      return this.fail(run, [
        {
          code: 'token_limit_exceeded',
          message: `Enqueued token limit reached for ${result.model} in organization org-emulator. Limit: 90,000 enqueued tokens. Please try again once some in_progress batches have been completed.`,
          param: null,
          line: null,
        },
      ]);
    }
    run.input = content;
    run.lines = result.lines;
    run.order = outputOrder(result.lines);
    batch.model = result.model;
    batch.request_counts.total = result.lines.length;
    batch.status = 'in_progress';
    batch.in_progress_at = this.nowSeconds();
    this.schedule(() => this.tick(run), this.sliceMs);
  }

  private fail(run: BatchRun, errors: BatchError[]): void {
    run.batch.status = 'failed';
    run.batch.failed_at = this.nowSeconds();
    run.batch.errors = { object: 'list', data: errors };
  }

  private async tick(run: BatchRun): Promise<void> {
    const { batch, fault } = run;
    if (batch.status !== 'in_progress') return;
    const total = run.lines.length;
    let limit = fault.stuck === 'in_progress' ? Math.floor(total / 2) : total;
    if (fault.expireAfter !== undefined) limit = Math.min(limit, fault.expireAfter);
    const end = Math.min(run.processed + Math.ceil(total / SLICES), limit);

    run.busy = true;
    await this.processSlice(run, end);
    run.busy = false;
    if (this.closed) return;

    // Re-read: cancel() may have run while the slice was awaited.
    if ((batch.status as BatchStatus) === 'cancelling') return this.schedule(() => this.finishCancel(run), this.phaseMs);
    if (run.processed >= total) {
      batch.status = 'finalizing';
      batch.finalizing_at = this.nowSeconds();
      if (fault.stuck !== 'finalizing') this.schedule(() => this.complete(run), this.phaseMs);
      return;
    }
    if (fault.expireAfter !== undefined && run.processed >= fault.expireAfter) return this.expire(run);
    if (run.processed >= limit) return; // stuck in_progress: no further progress, ever
    this.schedule(() => this.tick(run), this.sliceMs);
  }

  /** Runs the requests up to position `end` of the processing order and records their lines in that order. */
  private async processSlice(run: BatchRun, end: number): Promise<void> {
    const indices = run.order.slice(run.processed, end);
    const lines = new Array<{ ok: boolean; line: string }>(indices.length);
    let next = 0;
    const worker = async () => {
      while (next < indices.length) {
        const slot = next++;
        lines[slot] = await this.runRequest(run, run.lines[indices[slot]]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, indices.length) }, worker));
    if (this.closed) return;
    for (const { ok, line } of lines) {
      (ok ? run.outputLines : run.errorLines).push(line);
      if (ok) run.batch.request_counts.completed++;
      else run.batch.request_counts.failed++;
    }
    run.processed = end;
  }

  private async runRequest(run: BatchRun, line: InputLine): Promise<{ ok: boolean; line: string }> {
    const input = run.input as Buffer;
    const request = JSON.parse(input.subarray(line.start, line.end).toString('utf8')) as { body: unknown };
    const outcome = await this.deps.responses.create(request.body);
    this.deps.stats.increment('batchRequestsProcessed');
    if (outcome.ok) addUsage(run.batch, outcome.body.usage);
    const record = {
      id: newId('batch_req_'),
      custom_id: line.customId,
      response: { status_code: outcome.status, request_id: newRequestId(), body: outcome.body },
      error: null,
    };
    return { ok: outcome.ok, line: JSON.stringify(record) };
  }

  private complete(run: BatchRun): void {
    if (run.batch.status !== 'finalizing') return;
    this.writeFiles(run);
    run.batch.status = 'completed';
    run.batch.completed_at = this.nowSeconds();
  }

  /** The completion window ran out: unprocessed requests go to the error file as `batch_expired`. */
  private expire(run: BatchRun): void {
    for (const index of run.order.slice(run.processed)) {
      const record = {
        id: newId('batch_req_'),
        custom_id: run.lines[index].customId,
        response: null,
        error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
      };
      run.errorLines.push(JSON.stringify(record));
      run.batch.request_counts.failed++;
    }
    this.writeFiles(run);
    run.batch.status = 'expired';
    run.batch.expired_at = this.nowSeconds();
  }

  private finishCancel(run: BatchRun): void {
    if (run.batch.status !== 'cancelling') return;
    this.writeFiles(run);
    run.batch.status = 'cancelled';
    run.batch.cancelled_at = this.nowSeconds();
  }

  private writeFiles(run: BatchRun): void {
    const { batch, fault, outputLines, errorLines } = run;
    if (fault.malformedOutput && outputLines.length > 0) outputLines[0] = corrupt(outputLines[0], fault.malformedOutput);
    if (outputLines.length > 0) {
      batch.output_file_id = this.deps.files.create(`batch_${batch.id}_output.jsonl`, 'batch_output', jsonl(outputLines)).id;
    }
    if (errorLines.length > 0) {
      batch.error_file_id = this.deps.files.create(`batch_${batch.id}_error.jsonl`, 'batch_output', jsonl(errorLines)).id;
    }
    // The input and per-line state are no longer needed; a 50,000-line batch holds ~100 MB.
    run.input = undefined;
    run.lines = [];
    run.order = [];
    run.outputLines = [];
    run.errorLines = [];
  }
}

/**
 * Output order differs from input order, as OpenAI's does: sorted by a hash of
 * the custom_id (deterministic), reversed if that happens to be the input order.
 */
function outputOrder(lines: readonly InputLine[]): number[] {
  const keyed = lines.map((line, index) => ({ index, key: stableHash(line.customId) }));
  keyed.sort((a, b) => a.key - b.key || a.index - b.index);
  const order = keyed.map((k) => k.index);
  return order.every((value, i) => value === i) ? order.reverse() : order;
}

function addUsage(batch: BatchObject, usage: BatchObject['usage']): void {
  batch.usage.input_tokens += usage.input_tokens;
  batch.usage.input_tokens_details.cached_tokens += usage.input_tokens_details.cached_tokens;
  batch.usage.output_tokens += usage.output_tokens;
  batch.usage.output_tokens_details.reasoning_tokens += usage.output_tokens_details.reasoning_tokens;
  batch.usage.total_tokens += usage.total_tokens;
}

function corrupt(line: string, kind: 'not_json' | 'missing_custom_id'): string {
  if (kind === 'not_json') return line.slice(0, Math.floor(line.length / 2));
  const { custom_id: _dropped, ...rest } = JSON.parse(line) as Record<string, unknown>;
  return JSON.stringify(rest);
}

function jsonl(lines: string[]): Buffer {
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}
