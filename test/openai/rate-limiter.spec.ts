import { RateLimiter } from '../../src/openai/rate-limiter.js';
import { newGateway, startGateway, visionBody, type GatewayFixture } from './gateway-support.js';
import { startLoopbackProxy } from './loopback-proxy.js';

describe('the gateway limiter against a slow emulator', () => {
  let fx: GatewayFixture;
  beforeAll(async () => {
    fx = await startGateway();
  });
  afterAll(() => fx.close());

  it('never has more than OPENAI_MAX_CONCURRENT calls in flight on the wire', async () => {
    const proxy = await startLoopbackProxy(fx.emu.url);
    try {
      const gateway = newGateway(proxy.url, { OPENAI_MAX_CONCURRENT: '2', OPENAI_MAX_RPM: '100000' });
      fx.emu.faults.delayNext(150, { route: 'POST /v1/responses', count: 8 });
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => gateway.respond(visionBody({ lotId: `c${i}`, additionalInfo: `lot ${i}`, imageUrls: [] }))),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(proxy.maxInFlight()).toBe(2);
      // 8 slow calls, two at a time: at least four rounds of 150 ms.
      expect(Date.now() - started).toBeGreaterThanOrEqual(590);
      expect(gateway.metrics.rateLimitWaits).toBeGreaterThanOrEqual(6);
      expect(gateway.metrics.inFlight).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('spaces calls to OPENAI_MAX_RPM', async () => {
    // 600/min = 10/s: a burst of 10, then one every 100 ms.
    const gateway = newGateway(fx.emu.url, { OPENAI_MAX_RPM: '600', OPENAI_MAX_CONCURRENT: '50' });
    const started = Date.now();
    await Promise.all(Array.from({ length: 14 }, () => gateway.respond(visionBody({ lotId: 'r', additionalInfo: 'rpm', imageUrls: [] }))));
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(gateway.metrics.requests).toBe(14);
  });
});

describe('RateLimiter', () => {
  const startTimes = async (limiter: RateLimiter, n: number, holdMs = 0): Promise<number[]> => {
    const t0 = Date.now();
    return Promise.all(
      Array.from({ length: n }, async () => {
        const release = await limiter.acquire();
        const at = Date.now() - t0;
        setTimeout(release, holdMs);
        return at;
      }),
    );
  };

  it('lets one second of the rate start at once, then one per interval', async () => {
    const limiter = new RateLimiter({ maxPerMinute: 1200, maxConcurrent: 100 }); // 20/s
    const times = (await startTimes(limiter, 26)).sort((a, b) => a - b);
    expect(times.filter((t) => t < 30)).toHaveLength(20);
    // The 6 others at ~50 ms intervals: the last no sooner than 6 * 50 ms.
    expect(times[25]).toBeGreaterThanOrEqual(280);
    expect(limiter.stats.waits).toBe(6);
  });

  it('caps concurrency and serves waiters first come, first served', async () => {
    const limiter = new RateLimiter({ maxPerMinute: 100_000, maxConcurrent: 2 });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await limiter.acquire();
        order.push(i);
        expect(limiter.stats.inFlight).toBeLessThanOrEqual(2);
        await new Promise((r) => setTimeout(r, 20));
        release();
      }),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(limiter.stats.maxInFlight).toBe(2);
  });

  it('counts a release once however often it is called', async () => {
    const limiter = new RateLimiter({ maxPerMinute: 100_000, maxConcurrent: 1 });
    const release = await limiter.acquire();
    release();
    release();
    expect(limiter.stats.inFlight).toBe(0);
    const again = await limiter.acquire();
    expect(limiter.stats.inFlight).toBe(1);
    again();
  });

  it('removes an aborted waiter from the queue and rejects it with the reason', async () => {
    const limiter = new RateLimiter({ maxPerMinute: 100_000, maxConcurrent: 1 });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    expect(limiter.stats.queued).toBe(1);
    controller.abort(new Error('sync deadline'));
    await expect(waiting).rejects.toThrow('sync deadline');
    expect(limiter.stats.queued).toBe(0);
    held();
    const next = await limiter.acquire();
    expect(limiter.stats.inFlight).toBe(1);
    next();
  });

  it('holds every caller back during pauseFor', async () => {
    const limiter = new RateLimiter({ maxPerMinute: 100_000, maxConcurrent: 10 });
    limiter.pauseFor(200);
    const started = Date.now();
    const release = await limiter.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    release();
  });

  it('refuses limits below one', () => {
    expect(() => new RateLimiter({ maxPerMinute: 0, maxConcurrent: 1 })).toThrow('RateLimiter limits must be >= 1');
    expect(() => new RateLimiter({ maxPerMinute: 1, maxConcurrent: 0 })).toThrow('RateLimiter limits must be >= 1');
  });
});
