import { retryAfterFromHeaders as retryAfterMs } from '../../src/common/retry/index.js';
import { respondWithBudgetRetry } from '../../src/openai/budget-retry.js';
import { waitFor } from '../support/wait.js';
import { expectedDescription, newGateway, useGatewayWithImages, visionBody } from './gateway-support.js';

const ctx = useGatewayWithImages();
afterEach(() => ctx.fx.emu.faults.reset());

const RESPONSES = 'POST /v1/responses';
const calls = () => ctx.fx.emu.stats().requests[RESPONSES] ?? 0;
const vision = (info = 'Bent wheel', imageUrls: string[] = []) => visionBody({ lotId: 'L', additionalInfo: info, imageUrls });

describe('respond() retries', () => {
  it('waits for Retry-After after a 429, then succeeds on the second call', async () => {
    ctx.fx.emu.faults.failNext(429, { route: RESPONSES, retryAfterSeconds: 1 });
    const before = { calls: calls(), metrics: ctx.fx.gateway.metrics };
    const started = Date.now();
    const result = await ctx.fx.gateway.respond(vision());
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ ok: true, text: expectedDescription('Bent wheel', 0) });
    expect(calls() - before.calls).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(950); // the backoff alone would be ~20 ms
    expect(elapsed).toBeLessThan(2500);
    expect(ctx.fx.gateway.metrics.rateLimited - before.metrics.rateLimited).toBe(1);
    expect(ctx.fx.gateway.metrics.retries - before.metrics.retries).toBe(1);
  });

  it('holds back other direct calls while OpenAI asks to wait', async () => {
    ctx.fx.emu.faults.failNext(429, { route: RESPONSES, retryAfterSeconds: 1 });
    const rateLimited = ctx.fx.gateway.metrics.rateLimited;
    const first = ctx.fx.gateway.respond(vision('first'));
    await waitFor(() => Promise.resolve(ctx.fx.gateway.metrics.rateLimited > rateLimited), { timeoutMs: 2000, what: 'the 429' });
    const secondStarted = Date.now();
    const second = await ctx.fx.gateway.respond(vision('second'));
    expect(second.ok).toBe(true);
    expect(Date.now() - secondStarted).toBeGreaterThanOrEqual(800);
    expect((await first).ok).toBe(true);
  });

  it('retries 500s with backoff and succeeds on the third call', async () => {
    ctx.fx.emu.faults.failNext(500, { route: RESPONSES, count: 2 });
    const before = calls();
    expect(await ctx.fx.gateway.respond(vision())).toMatchObject({ ok: true });
    expect(calls() - before).toBe(3);
  });

  it('gives up after maxAttempts with a retryable request_failed carrying the status', async () => {
    ctx.fx.emu.faults.failNext(503, { route: RESPONSES, count: 5 });
    const before = calls();
    const result = await ctx.fx.gateway.respond(vision(), { maxAttempts: 2 });
    expect(result).toMatchObject({
      ok: false,
      kind: 'request_failed',
      retryable: true,
      statusCode: 503,
      error: 'The server is overloaded or not ready yet.',
    });
    expect(calls() - before).toBe(2);
  });

  it('does not retry a 400: an image that cannot be downloaded fails the lot with OpenAI’s exact message', async () => {
    const url = `${ctx.images.base}/missing-front.jpg`;
    const before = calls();
    const result = await ctx.fx.gateway.respond(vision('Rusty sill', [`${ctx.images.base}/ok.png`, url]));
    expect(result).toEqual({
      ok: false,
      kind: 'request_failed',
      error: `Error while downloading ${url}.`,
      statusCode: 400,
      retryable: false,
      usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 },
    });
    expect(calls() - before).toBe(1);
  });

  it('does not retry a rejected parameter (temperature sent to o4-mini)', async () => {
    const result = await ctx.fx.gateway.respond({ ...vision(), temperature: 0.2 });
    expect(result).toMatchObject({ ok: false, retryable: false, statusCode: 400, error: expect.stringMatching(/temperature/) });
  });

  it('retries an attempt that exceeds OPENAI_REQUEST_TIMEOUT', async () => {
    const slow = newGateway(ctx.fx.emu.url, { OPENAI_REQUEST_TIMEOUT: '1' });
    ctx.fx.emu.faults.delayNext(1500, { route: RESPONSES });
    const before = calls();
    expect(await slow.respond(vision('Slow answer'))).toMatchObject({ ok: true, text: expectedDescription('Slow answer', 0) });
    expect(calls() - before).toBe(2);
  });

  it('reports an unreachable OpenAI as a retryable failure instead of throwing', async () => {
    const nowhere = newGateway('http://127.0.0.1:9/v1');
    const result = await nowhere.respond(vision(), { maxAttempts: 2 });
    expect(result).toMatchObject({
      ok: false,
      kind: 'request_failed',
      retryable: true,
      error: expect.stringMatching(/Could not reach OpenAI/),
    });
    expect(nowhere.metrics).toMatchObject({ requests: 2, retries: 1, failedCalls: 1 });
  });
});

describe('respond() with an AbortSignal', () => {
  it('rejects with the signal’s reason as soon as it fires during a slow call', async () => {
    ctx.fx.emu.faults.delayNext(3000, { route: RESPONSES });
    const started = Date.now();
    await expect(ctx.fx.gateway.respond(vision(), { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('rejects while waiting out a Retry-After', async () => {
    ctx.fx.emu.faults.failNext(429, { route: RESPONSES, retryAfterSeconds: 30 });
    const rateLimited = ctx.fx.gateway.metrics.rateLimited;
    const controller = new AbortController();
    const pending = ctx.fx.gateway.respond(vision(), { signal: controller.signal });
    // Abort once the 429 is in, i.e. while the call waits out its 30 s Retry-After (not during the call itself).
    await waitFor(() => Promise.resolve(ctx.fx.gateway.metrics.rateLimited > rateLimited), { timeoutMs: 2000, what: 'the 429' });
    const started = Date.now();
    controller.abort(new Error('deadline'));
    await expect(pending).rejects.toThrow('deadline');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects at once for an already aborted signal without calling OpenAI', async () => {
    const before = calls();
    await expect(ctx.fx.gateway.respond(vision(), { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(calls()).toBe(before);
  });
});

describe('retryAfterMs', () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);

  it('prefers retry-after-ms, then retry-after seconds or HTTP date', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), 60_000)).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }), 60_000)).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), 60_000, now)).toBe(3000);
  });

  it('ignores absent, unparsable, negative and excessive values', () => {
    expect(retryAfterMs(undefined, 60_000)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), 60_000)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after-ms': '-5' }), 60_000)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': '3600' }), 60_000)).toBeUndefined();
  });
});

describe('respond() and answers cut at max_output_tokens (issue 16)', () => {
  const DEEP = 'Engine fire [emulator:deep-reasoning]';

  it('retries once with twice the budget, returns the answer, and counts both attempts in usage', async () => {
    const before = calls();
    const result = await respondWithBudgetRetry(ctx.fx.gateway, vision(DEEP), { stage: 'vision', settings: ctx.fx.config.openai });
    expect(calls() - before).toBe(2);
    expect(result).toMatchObject({ ok: true, text: expectedDescription('Engine fire', 0) });
    expect(result.budgetRetry).toEqual({
      stage: 'vision',
      via: 'direct',
      reason: 'max_output_tokens',
      max_output_tokens: 25_000,
      retry_max_output_tokens: 50_000,
      usage: expect.objectContaining({ output_tokens: 25_000, reasoning_tokens: 25_000 }),
      at: expect.any(String),
    });
    // 25,000 reasoning tokens billed for the cut attempt + 30,000 for the one that fit.
    expect(result.usage.reasoning_tokens).toBe(55_000);
    const text = Math.ceil(expectedDescription('Engine fire', 0).length / 4);
    expect(result.usage.output_tokens).toBe(25_000 + 30_000 + text);
  });

  it('fails with the reason when the larger budget is cut too; both attempts billed', async () => {
    const before = calls();
    const result = await respondWithBudgetRetry(ctx.fx.gateway, vision('Always cut [emulator:incomplete]'), {
      stage: 'vision',
      settings: ctx.fx.config.openai,
    });
    expect(calls() - before).toBe(2);
    expect(result).toMatchObject({
      ok: false,
      kind: 'incomplete',
      retryable: false,
      error: 'The response is incomplete: max_output_tokens (also with max_output_tokens=50000).',
      usage: { output_tokens: 75_000 },
      budgetRetry: { max_output_tokens: 25_000, retry_max_output_tokens: 50_000 },
    });
  });

  it('makes one call only without a stage (the caller already decided the budget)', async () => {
    const before = calls();
    const result = await ctx.fx.gateway.respond(vision(DEEP));
    expect(calls() - before).toBe(1);
    expect(result).toMatchObject({ ok: false, kind: 'incomplete', incomplete: { reason: 'max_output_tokens', maxOutputTokens: 25_000 } });
    expect(result.budgetRetry).toBeUndefined();
  });
});
