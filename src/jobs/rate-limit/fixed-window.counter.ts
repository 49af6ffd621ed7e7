import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock.js';

interface Window {
  endsAt: number;
  hits: number;
}

/** Sweep expired windows every this many hits, so idle clients do not accumulate. */
const SWEEP_EVERY = 10_000;

/**
 * Fixed-window hit counters: O(1) per request, no timers. The price of a
 * fixed window is that a client may do up to twice its limit across a window
 * boundary; a sliding log would be exact but costs O(hits) per request,
 * which shows at thousands of polling requests per second.
 *
 * Per process: with N API replicas a client gets N times the limit. A store
 * shared by replicas (Redis, PostgreSQL) can replace this class unchanged.
 */
@Injectable()
export class FixedWindowCounter {
  private readonly windows = new Map<string, Window>();
  private hitsSinceSweep = 0;

  constructor(private readonly clock: Clock) {}

  /** Counts one hit on `key`; returns the hits in the current window and the ms until it ends. */
  hit(key: string, windowMs: number, now = this.clock.now()): { hits: number; resetInMs: number } {
    if (++this.hitsSinceSweep >= SWEEP_EVERY) this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { endsAt: now + windowMs, hits: 0 };
      this.windows.set(key, window);
    }
    window.hits++;
    return { hits: window.hits, resetInMs: window.endsAt - now };
  }

  private sweep(now: number): void {
    this.hitsSinceSweep = 0;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }
}
