import { backoffDelay, parseRetryAfter, retryAfterFromHeaders, withRetries } from '../../src/common/retry/index.js';

describe('backoffDelay', () => {
  it('doubles from the base, capped, with each jitter mode', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, { baseMs: 100 }))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(10, { baseMs: 100, maxMs: 1000 })).toBe(1000);
    // Equal jitter: between half and all of the ceiling.
    expect(backoffDelay(3, { baseMs: 100, jitter: 'equal' }, () => 0)).toBe(200);
    expect(backoffDelay(3, { baseMs: 100, jitter: 'equal' }, () => 0.999)).toBe(400);
    // A fraction: up to that share on top.
    expect(backoffDelay(1, { baseMs: 1000, jitter: 0.1 }, () => 0.5)).toBe(1050);
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds (decimals included) and IMF-fixdate, nothing else', () => {
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('prefers retry-after-ms and refuses waits beyond the bound', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '20', 'retry-after': '5' }), 60_000)).toBe(20);
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': 'x', 'retry-after': '5' }), 60_000)).toBe(5000);
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '120' }), 60_000)).toBeUndefined();
  });
});

describe('withRetries', () => {
  const fast = { baseMs: 1 };

  it('retries what the decision says, with the delay it asks for, and returns the first success', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetries(
      (attempt) => {
        calls++;
        return attempt < 3 ? Promise.reject(new Error(`try ${attempt}`)) : Promise.resolve('done');
      },
      { attempts: 5, backoff: fast, decide: () => ({ retry: true, delayMs: 2 }), onRetry: ({ delayMs }) => delays.push(delayMs) },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(delays).toEqual([2, 2]);
  });

  it('gives up at once on an error not worth retrying, and after the last attempt otherwise', async () => {
    let calls = 0;
    const fail = () => {
      calls++;
      return Promise.reject(new Error(`failure ${calls}`));
    };
    await expect(withRetries(fail, { attempts: 5, backoff: fast, decide: () => ({ retry: false }) })).rejects.toThrow('failure 1');
    calls = 0;
    await expect(withRetries(fail, { attempts: 3, backoff: fast, decide: () => ({ retry: true }) })).rejects.toThrow('failure 3');
  });

  it('rejects with the signal’s reason while waiting between attempts', async () => {
    const controller = new AbortController();
    const pending = withRetries(() => Promise.reject(new Error('busy')), {
      attempts: 5,
      backoff: { baseMs: 60_000 },
      signal: controller.signal,
      decide: () => ({ retry: true }),
      onRetry: () => controller.abort(new Error('shutdown')),
    });
    await expect(pending).rejects.toThrow('shutdown');
  });
});
