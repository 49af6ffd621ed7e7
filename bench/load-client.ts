import { Worker } from 'node:worker_threads';
import type { LoadAnswer, LoadCommand } from './load.worker.js';

type LatencyAnswer = Extract<LoadAnswer, { mode: 'latency' }>;

/** The load thread, started once (before memory baselines, so its own heap is not counted as growth). */
export class LoadClient {
  private constructor(private readonly worker: Worker) {}

  static async start(): Promise<LoadClient> {
    const worker = new Worker(new URL('./load.worker.js', import.meta.url));
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new LoadClient(worker);
  }

  run<M extends Exclude<LoadCommand['mode'], 'stop' | 'latency'>>(
    command: Extract<LoadCommand, { mode: M }>,
  ): Promise<Extract<LoadAnswer, { mode: M }>> {
    this.worker.postMessage(command);
    return this.answer();
  }

  /** Starts the latency load; resolves once it is warmed up and recording, with the function that stops it. */
  async startLatency(command: Extract<LoadCommand, { mode: 'latency' }>): Promise<() => Promise<LatencyAnswer>> {
    this.worker.postMessage(command);
    await this.answer<Extract<LoadAnswer, { mode: 'latency-started' }>>();
    return () => {
      this.worker.postMessage({ mode: 'stop' } satisfies LoadCommand);
      return this.answer<LatencyAnswer>();
    };
  }

  private answer<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', (answer: LoadAnswer | { error: string }) =>
        'error' in answer ? reject(new Error(answer.error)) : resolve(answer as T),
      );
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
