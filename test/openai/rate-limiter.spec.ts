import { RateLimiter } from '../../src/openai/rate-limiter.js';
import { ManualClock } from '../support/manual-clock.js';
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
  /** Lets every promise that can settle now settle (the limiter's hand-offs are promise callbacks). */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('lets one second of the rate start at once, then one per interval', async () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const limiter = new RateLimiter({ maxPerMinute: 1200, maxConcurrent: 100, clock }); // 20/s
    const times: number[] = [];
    for (let i = 0; i < 26; i++) void limiter.acquire().then(() => times.push(clock.now() - t0));
    await settle();
    expect(times).toEqual(Array.from({ length: 20 }, () => 0));
    // The 6 others one per 50 ms, time moving 10 ms at a time.
    for (let elapsed = 0; elapsed < 400; elapsed += 10) {
      clock.advance(10);
      await settle();
    }
    expect(times.slice(20)).toEqual([50, 100, 150, 200, 250, 300]);
    expect(limiter.stats.waits).toBe(6);
  });

  it('caps concurrency and serves waiters first come, first served', async () => {
    const limiter = new RateLimiter({ maxPerMinute: 100_000, maxConcurrent: 2, clock: new ManualClock() });
    const order: number[] = [];
    const releases: (() => void)[] = [];
    for (let i = 0; i < 6; i++) {
      void limiter.acquire().then((release) => {
        order.push(i);
        releases[i] = release;
      });
    }
    await settle();
    expect(order).toEqual([0, 1]);
    expect(limiter.stats).toMatchObject({ inFlight: 2, queued: 4 });
    // Each release lets exactly the next waiter in.
    for (let i = 0; i < 6; i++) {
      releases[i]();
      await settle();
      expect(order).toEqual([0, 1, 2, 3, 4, 5].slice(0, Math.min(6, i + 3)));
      expect(limiter.stats.inFlight).toBeLessThanOrEqual(2);
    }
    expect(limiter.stats.inFlight).toBe(0);
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
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxPerMinute: 100_000, maxConcurrent: 10, clock });
    limiter.pauseFor(200);
    let release: (() => void) | undefined;
    void limiter.acquire().then((r) => (release = r));
    clock.advance(199);
    await settle();
    expect(release).toBeUndefined();
    clock.advance(1);
    await settle();
    expect(release).toBeDefined();
    expect(limiter.stats.waitedMs).toBe(200);
    release!();
  });

  it('refuses limits below one', () => {
    expect(() => new RateLimiter({ maxPerMinute: 0, maxConcurrent: 1 })).toThrow('RateLimiter limits must be >= 1');
    expect(() => new RateLimiter({ maxPerMinute: 1, maxConcurrent: 0 })).toThrow('RateLimiter limits must be >= 1');
  });
});
