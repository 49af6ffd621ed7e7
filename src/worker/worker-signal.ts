import { Injectable } from '@nestjs/common';

/**
 * In-process "there is work" signal: the API calls `notify()` after storing
 * a job, and a worker in the same process ticks at once instead of waiting
 * for the next interval. Other replicas still pick the work up on their tick.
 */
@Injectable()
export class WorkerSignal {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
