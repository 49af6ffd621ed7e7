import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';

/** The operations the gateway performs, as they appear in the `operation` label. */
export type GatewayOperation =
  | 'files.upload'
  | 'files.content'
  | 'files.delete'
  | 'batches.create'
  | 'batches.retrieve'
  | 'batches.list'
  | 'batches.cancel'
  | 'responses.create';

/** How one HTTP call to OpenAI ended, as the `outcome` label (few values: Prometheus cardinality). */
export type CallOutcome = 'ok' | 'rate_limited' | 'client_error' | 'server_error' | 'timeout' | 'connection_error' | 'aborted' | 'error';

export function outcomeOf(error: unknown, aborted: boolean): CallOutcome {
  if (aborted) return 'aborted';
  if (error instanceof APIConnectionTimeoutError) return 'timeout';
  if (error instanceof APIConnectionError) return 'connection_error';
  if (error instanceof APIError && typeof error.status === 'number') {
    if (error.status === 429) return 'rate_limited';
    return error.status >= 500 ? 'server_error' : 'client_error';
  }
  return 'error';
}

/**
 * The gateway's Prometheus metrics: every HTTP call to OpenAI (retries
 * included) by operation and outcome, its latency, the retries, and the
 * limiter's state. Registered in the application's registry (MetricsRegistry,
 * served on the management port's /metrics), or in a private one when the
 * gateway is built alone.
 */
export class GatewayMetricsRecorder {
  readonly calls: Counter<'operation' | 'outcome'>;
  readonly retries: Counter<'operation'>;
  readonly duration: Histogram<'operation' | 'outcome'>;

  constructor(registry: Registry, limiter: () => { inFlight: number; queued: number }) {
    this.calls = new Counter({
      name: 'gs_openai_calls_total',
      help: 'HTTP calls to OpenAI (each retry counted), by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'gs_openai_retries_total',
      help: 'OpenAI calls retried after a transient failure, by operation',
      labelNames: ['operation'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'gs_openai_call_duration_seconds',
      help: 'Latency of one HTTP call to OpenAI, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      // From a 50 ms retrieve to a 15-minute upload of a 190 MB part.
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 900],
      registers: [registry],
    });
    new Gauge({
      name: 'gs_openai_direct_calls',
      help: 'Direct Responses calls at the local limiter, by state (in_flight, queued)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const stats = limiter();
        this.set({ state: 'in_flight' }, stats.inFlight);
        this.set({ state: 'queued' }, stats.queued);
      },
    });
  }

  /** Times `fn` as one call of `operation` and records how it ended. */
  async time<T>(operation: GatewayOperation, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const stop = this.duration.startTimer({ operation });
    try {
      const result = await fn();
      stop({ outcome: 'ok' });
      this.calls.inc({ operation, outcome: 'ok' });
      return result;
    } catch (error) {
      const outcome = outcomeOf(error, signal?.aborted ?? false);
      stop({ outcome });
      this.calls.inc({ operation, outcome });
      throw error;
    }
  }
}
