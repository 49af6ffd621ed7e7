import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time, as something to inject where timing matters (heartbeat staleness, rate-limit windows, backoff waits), so
 * tests advance it instead of sleeping. Provide `SystemClock` for `Clock`; tests provide a manual clock
 * (test/support/manual-clock.ts).
 */
export abstract class Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  abstract now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  abstract sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

@Injectable()
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    try {
      await delay(ms, undefined, { signal });
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    }
  }
}
