import { OutboundHttpError, SsrfBlockedError } from '../../src/common/http/outbound-errors.js';
import type { SafeResponse } from '../../src/common/http/safe-request.js';
import { parseRetryAfter } from '../../src/common/retry/index.js';
import { backoffDelay, decideAttempt, MAX_RETRY_AFTER_MS } from '../../src/webhooks/webhook-retry-policy.js';

const SCHEDULE = { retryBaseMs: 30_000 }; // 002's defaults
const noJitter = () => 0;
const response = (status: number, headers: Record<string, string> = {}): { response: SafeResponse } => ({
  response: { status, headers, body: Buffer.alloc(0), truncated: false, durationMs: 5 },
});
const state = (attempt: number, maxAttempts = 5, roundStartAttempt = 0) => ({ attempt, maxAttempts, roundStartAttempt });

test('the schedule of reference 002: 30 s, 60 s, 120 s, 240 s after attempts 1-4, jitter at most +10 %', () => {
  expect([1, 2, 3, 4].map((n) => backoffDelay(n, SCHEDULE, noJitter))).toEqual([30_000, 60_000, 120_000, 240_000]);
  expect(backoffDelay(1, SCHEDULE, () => 0.999)).toBe(32_997);
  expect(backoffDelay(4, { retryBaseMs: 50 }, noJitter)).toBe(400);
});

test('five attempts in all with WEBHOOK_MAX_RETRIES=5: the fifth failure is final', () => {
  const delays = [1, 2, 3, 4].map((n) => decideAttempt(response(500), state(n), SCHEDULE, noJitter));
  expect(delays).toEqual(
    [30_000, 60_000, 120_000, 240_000].map((delayMs) => ({ outcome: 'retry', delayMs, reason: 'HTTP 500 from receiver' })),
  );
  expect(decideAttempt(response(500), state(5), SCHEDULE, noJitter)).toEqual({
    outcome: 'failed',
    reason: 'HTTP 500 from receiver; gave up after attempt 5 of 5',
  });
});

test.each([200, 201, 202, 204, 299])('HTTP %i is delivered', (status) => {
  expect(decideAttempt(response(status), state(1), SCHEDULE)).toEqual({ outcome: 'delivered' });
});

test.each([
  [301, 'redirect'],
  [302, 'redirect to https://elsewhere.example/ not followed'],
  [400, 'HTTP 400'],
  [401, 'HTTP 401'],
  [404, 'HTTP 404'],
  [500, 'HTTP 500'],
  [502, 'HTTP 502'],
])('HTTP %i is retried (%s)', (status, words) => {
  const decision = decideAttempt(response(status, { location: 'https://elsewhere.example/' }), state(1), SCHEDULE, noJitter);
  expect(decision).toMatchObject({ outcome: 'retry', delayMs: 30_000 });
  expect(decision.outcome === 'retry' && decision.reason).toContain(words);
});

test('410 Gone, refused targets and invalid URLs fail at once, even with attempts left', () => {
  expect(decideAttempt(response(410), state(1), SCHEDULE)).toMatchObject({
    outcome: 'failed',
    reason: expect.stringContaining('410 Gone'),
  });
  const blocked = new SsrfBlockedError('http://10.0.0.1/', 'private network address (RFC 1918)');
  expect(decideAttempt({ error: blocked }, state(1), SCHEDULE)).toMatchObject({
    outcome: 'failed',
    reason: expect.stringContaining('RFC 1918'),
  });
  const invalid = new OutboundHttpError('invalid_url', 'only http and https URLs are allowed', 'ftp://x');
  expect(decideAttempt({ error: invalid }, state(1), SCHEDULE)).toMatchObject({ outcome: 'failed' });
});

test('timeouts, network errors and our own errors are retried', () => {
  const timeout = new OutboundHttpError('timeout', 'No complete answer within 30000 ms', 'https://x');
  expect(decideAttempt({ error: timeout }, state(2), SCHEDULE, noJitter)).toEqual({
    outcome: 'retry',
    delayMs: 60_000,
    reason: timeout.message,
  });
  const network = new OutboundHttpError('network', 'ECONNREFUSED', 'https://x');
  expect(decideAttempt({ error: network }, state(1), SCHEDULE, noJitter)).toMatchObject({ outcome: 'retry' });
  expect(decideAttempt({ error: new Error('job vanished') }, state(1), SCHEDULE, noJitter)).toMatchObject({
    outcome: 'retry',
    reason: 'job vanished',
  });
});

test('Retry-After on 429/503 lengthens the wait (never shortens it), bounded to one hour; ignored on other statuses', () => {
  const wait = (status: number, value: string) => {
    const decision = decideAttempt(response(status, { 'retry-after': value }), state(1), SCHEDULE, noJitter);
    return decision.outcome === 'retry' ? decision.delayMs : undefined;
  };
  expect(wait(429, '120')).toBe(120_000);
  expect(wait(503, '120')).toBe(120_000);
  expect(wait(429, '5')).toBe(30_000);
  expect(wait(429, '999999')).toBe(MAX_RETRY_AFTER_MS);
  expect(wait(500, '120')).toBe(30_000);
  expect(wait(429, 'soon')).toBe(30_000);
});

test('a manual redelivery restarts the schedule: the first retry after it waits the base delay again', () => {
  expect(decideAttempt(response(500), state(6, 10, 5), SCHEDULE, noJitter)).toMatchObject({ outcome: 'retry', delayMs: 30_000 });
  expect(decideAttempt(response(500), state(10, 10, 5), SCHEDULE, noJitter)).toMatchObject({ outcome: 'failed' });
});

test('parseRetryAfter reads delta-seconds and HTTP dates', () => {
  const now = Date.parse('2025-08-05T08:00:00Z');
  expect(parseRetryAfter('30', now)).toBe(30_000);
  expect(parseRetryAfter(' 7 ', now)).toBe(7_000);
  expect(parseRetryAfter('Tue, 05 Aug 2025 08:01:00 GMT', now)).toBe(60_000);
  expect(parseRetryAfter('Tue, 05 Aug 2025 07:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('-5', now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
});
