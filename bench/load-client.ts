import { Worker } from 'node:worker_threads';
import type { LoadAnswer, LoadCommand } from './load.worker.js';

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

  run<M extends LoadCommand['mode']>(command: Extract<LoadCommand, { mode: M }>): Promise<Extract<LoadAnswer, { mode: M }>> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', (answer: LoadAnswer | { error: string }) =>
        'error' in answer ? reject(new Error(answer.error)) : resolve(answer as Extract<LoadAnswer, { mode: M }>),
      );
      this.worker.postMessage(command);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
