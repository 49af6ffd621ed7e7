import { Clock, SystemClock } from '../common/clock.js';

export interface RateLimiterOptions {
  /** Requests started per minute (OPENAI_MAX_RPM); Infinity: concurrency and pauses only (the rate is counted elsewhere). */
  maxPerMinute: number;
  /** Requests in flight at once (OPENAI_MAX_CONCURRENT). */
  maxConcurrent: number;
  /** Time for the rate, pauses and wake-ups (default: the system clock; tests pass a manual one). */
  clock?: Clock;
}

export interface RateLimiterStats {
  /** Acquisitions that had to queue (rate, concurrency or a 429 pause). */
  waits: number;
  /** Total milliseconds spent queued. */
  waitedMs: number;
  inFlight: number;
  maxInFlight: number;
  queued: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  queuedAt: number;
}

/**
 * A per-process limiter for direct OpenAI calls: a token bucket for the rate
 * (refilled continuously at maxPerMinute/60 per second, holding at most one
 * second's worth so a minute's allowance never leaves as one burst) and a
 * counter for concurrency. Waiters are served first-come first-served; an
 * aborted waiter leaves the queue at once. `pauseFor` lets a 429 with
 * Retry-After hold back every caller, not just the one that was refused.
 *
 * Written here rather than taken from a library because it is ~100 lines,
 * needs the shared 429 pause and abortable waits, and is tested directly.
 */
export class RateLimiter {
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly clock: Clock;
  private tokens: number;
  private refilledAt: number;
  private pausedUntil = 0;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  /** Aborts the pending wake-up when a newer one replaces it. */
  private wakeUp: AbortController | undefined;
  private readonly counters = { waits: 0, waitedMs: 0, maxInFlight: 0 };

  constructor(private readonly options: RateLimiterOptions) {
    if (!(options.maxPerMinute >= 1) || !(options.maxConcurrent >= 1)) throw new Error('RateLimiter limits must be >= 1');
    this.clock = options.clock ?? new SystemClock();
    this.capacity = Math.max(1, Math.ceil(options.maxPerMinute / 60));
    this.perMs = options.maxPerMinute / 60_000;
    this.tokens = this.capacity;
    this.refilledAt = this.now();
  }

  /** Waits for a slot; resolves with the function that gives it back. Rejects with `signal.reason` when aborted. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    // An abort rejects with the signal's own reason, as fetch and timers/promises do (not a wrapped Error).
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, queuedAt: this.now() };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason, as above
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      if (this.queue.length > 1 || !this.canStart()) this.counters.waits++;
      this.pump();
    });
  }

  /** Nobody starts a request before `ms` from now (e.g. OpenAI said Retry-After). */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.pump();
  }

  private now(): number {
    return this.clock.now();
  }

  get stats(): RateLimiterStats {
    return { ...this.counters, inFlight: this.inFlight, queued: this.queue.length };
  }

  private canStart(): boolean {
    this.refill();
    return this.inFlight < this.options.maxConcurrent && this.tokens >= 1 && this.now() >= this.pausedUntil;
  }

  private refill(): void {
    const now = this.now();
    if (this.perMs === Infinity) {
      this.tokens = Infinity;
      this.refilledAt = now;
      return;
    }
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.canStart()) {
      const waiter = this.queue.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      this.tokens -= 1;
      this.inFlight++;
      this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.inFlight);
      this.counters.waitedMs += this.now() - waiter.queuedAt;
      waiter.resolve(this.releaser());
    }
    this.schedule();
  }

  /** A release that counts once, however often it is called. */
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.pump();
    };
  }

  /** Wakes up when the rate or a pause (not concurrency: a release pumps) can let the next waiter start. */
  private schedule(): void {
    this.wakeUp?.abort();
    this.wakeUp = undefined;
    if (this.queue.length === 0 || this.inFlight >= this.options.maxConcurrent) return;
    const untilToken = this.tokens >= 1 ? 0 : (1 - this.tokens) / this.perMs;
    const untilUnpaused = Math.max(0, this.pausedUntil - this.now());
    const delay = Math.max(1, Math.ceil(Math.max(untilToken, untilUnpaused)));
    const wakeUp = (this.wakeUp = new AbortController());
    this.clock.sleep(delay, wakeUp.signal).then(
      () => {
        if (this.wakeUp !== wakeUp) return;
        this.wakeUp = undefined;
        this.pump();
      },
      () => undefined, // replaced by a newer wake-up
    );
  }
}
