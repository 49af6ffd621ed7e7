/** Counters tests assert on ("the image was fetched twice", "the SDK retried once"). */
export interface EmulatorStats {
  /** Calls per route key (e.g. `POST /v1/responses`), counted before auth and faults; unknown routes under `unmatched`. */
  requests: Record<string, number>;
  totalRequests: number;
  /** `POST /v1/responses` calls answered 200. */
  responsesCreated: number;
  /** `POST /v1/responses` calls answered with an error by the Responses logic (not injected faults). */
  responsesFailed: number;
  filesCreated: number;
  /** `DELETE /v1/files/{id}` calls that deleted a file. */
  filesDeleted: number;
  batchesCreated: number;
  /** Batch lines run through the Responses logic (successes and failures). */
  batchRequestsProcessed: number;
  /** HTTP(S) image downloads attempted (direct and batch). */
  imageFetches: number;
  /** Injected faults that fired (http, delay and batch). */
  faultsInjected: number;
}

export class StatsRecorder {
  private readonly counters: Omit<EmulatorStats, 'requests' | 'faultsInjected'> = {
    totalRequests: 0,
    responsesCreated: 0,
    responsesFailed: 0,
    filesCreated: 0,
    filesDeleted: 0,
    batchesCreated: 0,
    batchRequestsProcessed: 0,
    imageFetches: 0,
  };
  private readonly requests = new Map<string, number>();

  request(routeKey: string): void {
    this.requests.set(routeKey, (this.requests.get(routeKey) ?? 0) + 1);
    this.counters.totalRequests++;
  }

  increment(counter: Exclude<keyof EmulatorStats, 'requests' | 'totalRequests' | 'faultsInjected'>, by = 1): void {
    this.counters[counter] += by;
  }

  snapshot(faultsInjected: number): EmulatorStats {
    return { ...this.counters, requests: Object.fromEntries(this.requests), faultsInjected };
  }
}
