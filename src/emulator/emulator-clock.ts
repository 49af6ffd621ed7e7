import { setTimeout as delay } from 'node:timers/promises';

/**
 * The batch lifecycle's time: stamps and the waits between phases. The emulator's own (it imports nothing of the
 * service); the service's `Clock`, and the tests' manual clock, have the same shape, so a test passes its manual
 * clock and moves batches on without waiting.
 */
export interface EmulatorClock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
  /** Resolves after `ms`; rejects when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time; its waits never keep the process alive. */
export const systemEmulatorClock: EmulatorClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal, ref: false }),
};
