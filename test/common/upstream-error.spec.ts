import { markUpstreamError, upstreamOf } from '../../src/common/errors/upstream-error.js';
import { isConnectionError } from '../../src/database/database-outage.js';

/** OpenAI's SDK says "Connection error." with ECONNREFUSED inside, like a lost database: only the database's pauses the work. */
function sdkLikeConnectionError(): Error {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  return new Error('Connection error.', { cause: new TypeError('fetch failed', { cause: refused }) });
}

test('an unmarked connection error reads as the database being unreachable', () => {
  expect(isConnectionError(sdkLikeConnectionError())).toBe(true);
});

test("an error the gateway marked as OpenAI's never reads as the database being unreachable", () => {
  const marked = markUpstreamError(sdkLikeConnectionError(), 'openai');
  expect(upstreamOf(marked)).toBe('openai');
  expect(isConnectionError(marked)).toBe(false);
  expect(upstreamOf(new Error('x'))).toBeUndefined();
});
