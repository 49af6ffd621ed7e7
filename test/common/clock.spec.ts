import { SystemClock } from '../../src/common/clock.js';
import { ManualClock } from '../support/manual-clock.js';

describe('SystemClock', () => {
  test('now() is the wall clock; sleep() rejects with the abort reason', async () => {
    const clock = new SystemClock();
    const before = Date.now();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    const controller = new AbortController();
    const sleeping = clock.sleep(60_000, controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(sleeping).rejects.toThrow('shutting down');
  });
});

describe('ManualClock (for tests that would otherwise sleep)', () => {
  test('sleeps resolve only when time is advanced past them, in deadline order', async () => {
    const clock = new ManualClock(1_000);
    const woke: string[] = [];
    const long = clock.sleep(500).then(() => woke.push('500'));
    const short = clock.sleep(100).then(() => woke.push('100'));
    clock.advance(99);
    await Promise.resolve();
    expect(woke).toEqual([]);
    expect(clock.pending).toBe(2);
    clock.advance(401);
    await Promise.all([long, short]);
    expect(woke).toEqual(['100', '500']);
    expect(clock.now()).toBe(1_500);
  });

  test('an aborted sleep rejects with the reason and is forgotten', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(sleeping).rejects.toThrow('cancelled');
    expect(clock.pending).toBe(0);
  });
});
