/** One way to back off and retry, for every client in the service (OpenAI, webhooks, the pipeline's job backoffs). */
export { waitMs } from './abortable-wait.js';
export { backoffDelay, type Backoff } from './backoff.js';
export { parseRetryAfter, retryAfterFromHeaders } from './retry-after.js';
export { withRetries, type RetryDecision, type RetryOptions } from './retry.js';
