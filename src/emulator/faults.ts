import { invalidRequest } from './api-error.js';

/**
 * Fault injection: tests (and the admin route `POST /v1/__emulator/faults`)
 * queue misbehaviours that the emulator then plays out exactly once per
 * `count`. Routes are named by their pattern key, e.g. `POST /v1/responses`
 * or `GET /v1/batches/:id`; a route given without its method matches every
 * method, and no route (or `*`) matches every API route.
 */

/** The next `count` calls answer `status` in OpenAI's error shape. */
export interface HttpFault {
  kind: 'http';
  status: 429 | 500 | 502 | 503;
  count?: number;
  route?: string;
  /** 429 only: value of the `retry-after` header, in seconds (default 1). */
  retryAfterSeconds?: number;
}

/** The next `count` calls are answered only after `delayMs`. */
export interface DelayFault {
  kind: 'delay';
  delayMs: number;
  count?: number;
  route?: string;
}

export interface BatchFaultEffect {
  /** Never leave this status (cancel still works). `in_progress` stalls after half the requests. */
  stuck?: 'in_progress' | 'finalizing';
  /** End `failed` after validating: a validation error, or a full enqueued-token queue. */
  fail?: 'validation' | 'token_limit_exceeded';
  /** End `expired` once this many requests have been processed. */
  expireAfter?: number;
  /** Corrupt the first line written to the output file. */
  malformedOutput?: 'not_json' | 'missing_custom_id';
}

/**
 * Applies to the next `count` batches created (default 1) — all of them when
 * `match` is absent, otherwise only those whose metadata holds every pair of
 * `match` (e.g. `{ stage: 'translation' }`).
 */
export interface BatchFault extends BatchFaultEffect {
  kind: 'batch';
  match?: Record<string, string>;
  count?: number;
}

export type Fault = HttpFault | DelayFault | BatchFault;

type Pending<F extends Fault> = F & { count: number };

export class FaultControl {
  private http: Pending<HttpFault>[] = [];
  private delays: Pending<DelayFault>[] = [];
  private batches: Pending<BatchFault>[] = [];
  private injected = 0;

  /** Queues one fault or several; throws an ApiError (400) when one is malformed. */
  add(fault: Fault | Fault[]): void {
    const faults = Array.isArray(fault) ? fault : [fault];
    const checked = faults.map(checkFault);
    for (const f of checked) {
      if (f.kind === 'http') this.http.push(f);
      else if (f.kind === 'delay') this.delays.push(f);
      else this.batches.push(f);
    }
  }

  failNext(status: HttpFault['status'], options: Omit<HttpFault, 'kind' | 'status'> = {}): void {
    this.add({ kind: 'http', status, ...options });
  }

  delayNext(delayMs: number, options: Omit<DelayFault, 'kind' | 'delayMs'> = {}): void {
    this.add({ kind: 'delay', delayMs, ...options });
  }

  batch(fault: Omit<BatchFault, 'kind'>): void {
    this.add({ kind: 'batch', ...fault });
  }

  reset(): void {
    this.http = [];
    this.delays = [];
    this.batches = [];
  }

  /** Faults still queued, with their remaining counts. */
  list(): Fault[] {
    return [...this.http, ...this.delays, ...this.batches].map((f) => ({ ...f }));
  }

  /** How many faults have fired so far (for stats). */
  get injectedCount(): number {
    return this.injected;
  }

  takeHttp(routeKey: string): HttpFault | undefined {
    const fault = takeFirst(this.http, (f) => routeMatches(f.route, routeKey));
    if (fault) this.injected++;
    return fault;
  }

  takeDelayMs(routeKey: string): number {
    const fault = takeFirst(this.delays, (f) => routeMatches(f.route, routeKey));
    if (fault) this.injected++;
    return fault?.delayMs ?? 0;
  }

  /** Merges every batch fault that applies to a new batch, consuming one use of each. */
  takeBatch(metadata: Record<string, string> | null): BatchFaultEffect | undefined {
    const applicable = this.batches.filter((f) => metadataMatches(f.match, metadata));
    if (applicable.length === 0) return undefined;
    const effect: BatchFaultEffect = {};
    for (const f of applicable) {
      if (f.stuck) effect.stuck = f.stuck;
      if (f.fail) effect.fail = f.fail;
      if (f.expireAfter !== undefined) effect.expireAfter = f.expireAfter;
      if (f.malformedOutput) effect.malformedOutput = f.malformedOutput;
      f.count--;
      this.injected++;
    }
    this.batches = this.batches.filter((f) => f.count > 0);
    return effect;
  }
}

function takeFirst<F extends Fault>(queue: Pending<F>[], predicate: (f: Pending<F>) => boolean): Pending<F> | undefined {
  const index = queue.findIndex(predicate);
  if (index < 0) return undefined;
  const fault = queue[index];
  fault.count--;
  if (fault.count <= 0) queue.splice(index, 1);
  return fault;
}

function routeMatches(route: string | undefined, routeKey: string): boolean {
  if (route === undefined || route === '*') return true;
  if (route === routeKey) return true;
  return !route.includes(' ') && routeKey.endsWith(` ${route}`);
}

function metadataMatches(match: Record<string, string> | undefined, metadata: Record<string, string> | null): boolean {
  if (!match) return true;
  return Object.entries(match).every(([key, value]) => metadata?.[key] === value);
}

function checkFault(raw: Fault): Pending<Fault> {
  if (typeof raw !== 'object' || raw === null) throw invalidRequest('A fault must be an object.', 'fault');
  const count = raw.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw invalidRequest("Invalid 'count': expected an integer >= 1.", 'count');
  switch (raw.kind) {
    case 'http':
      if (![429, 500, 502, 503].includes(raw.status)) {
        throw invalidRequest("Invalid 'status': expected one of 429, 500, 502, 503.", 'status');
      }
      return { ...raw, count };
    case 'delay':
      if (typeof raw.delayMs !== 'number' || raw.delayMs < 0) {
        throw invalidRequest("Invalid 'delayMs': expected a number >= 0.", 'delayMs');
      }
      return { ...raw, count };
    case 'batch':
      if (!raw.stuck && !raw.fail && raw.expireAfter === undefined && !raw.malformedOutput) {
        throw invalidRequest('A batch fault needs one of stuck, fail, expireAfter, malformedOutput.', 'kind');
      }
      return { ...raw, count };
    default:
      throw invalidRequest("Invalid 'kind': expected 'http', 'delay' or 'batch'.", 'kind');
  }
}
