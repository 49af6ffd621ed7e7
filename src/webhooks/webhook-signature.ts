import { createHmac } from 'node:crypto';
import { OUTBOUND_USER_AGENT } from '../common/http/safe-request.js';

export interface WebhookHeaderInput {
  /** Stable across every attempt of one delivery: receivers de-duplicate on it. */
  webhookId: string;
  jobId: string;
  attempt: number;
  body: Buffer;
  /**
   * The job's client's Standard Webhooks keys (the decoded bytes of its
   * `whsec_` secrets), newest first: during a key rotation there are two, and
   * `webhook-signature` carries one signature per key, space-separated.
   */
  secrets: readonly Buffer[];
  /** SHARED_KEY, for the default client only: adds reference 002's `X-Signature`. */
  legacyKey?: string;
  /** Seconds since the epoch at send time. */
  timestamp: number;
}

/** Reference 002's signature: `sha256=` + hex HMAC-SHA256(SHARED_KEY, raw body). */
export function legacySignature(sharedKey: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', Buffer.from(sharedKey, 'utf8')).update(body).digest('hex')}`;
}

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over
 * `{webhook-id}.{webhook-timestamp}.{body}` with the decoded bytes of a
 * `whsec_<base64>` secret.
 */
export function standardSignature(key: Buffer, webhookId: string, timestamp: number, body: Buffer): string {
  const mac = createHmac('sha256', key);
  mac.update(`${webhookId}.${timestamp}.`, 'utf8');
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/**
 * The default client's Standard Webhooks key before it has keys of its own:
 * the UTF-8 bytes of SHARED_KEY, i.e. receivers configure `whsec_` +
 * base64(SHARED_KEY) — what every receiver of the seed service already has.
 */
export function sharedKeyWebhookSecret(sharedKey: string): Buffer {
  return Buffer.from(sharedKey, 'utf8');
}

/** Every header of one webhook attempt: the 002 set (default client only) plus the Standard Webhooks set. */
export function webhookHeaders(input: WebhookHeaderInput): Record<string, string> {
  if (input.secrets.length === 0) throw new Error(`webhook ${input.webhookId}: the job's client has no webhook secret`);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': OUTBOUND_USER_AGENT,
    'X-Delivery-Attempt': String(input.attempt),
    'X-Job-ID': input.jobId,
    'webhook-id': input.webhookId,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': input.secrets.map((key) => standardSignature(key, input.webhookId, input.timestamp, input.body)).join(' '),
  };
  if (input.legacyKey !== undefined) headers['X-Signature'] = legacySignature(input.legacyKey, input.body);
  return headers;
}
