import { createHmac } from 'node:crypto';
import { OUTBOUND_USER_AGENT } from '../common/http/safe-request.js';

export interface WebhookHeaderInput {
  /** Stable across every attempt of one delivery: receivers de-duplicate on it. */
  webhookId: string;
  jobId: string;
  attempt: number;
  body: Buffer;
  /** SHARED_KEY; its UTF-8 bytes are the HMAC key of both signatures. */
  sharedKey: string;
  /** Seconds since the epoch at send time. */
  timestamp: number;
}

/** Reference 002's signature: `sha256=` + hex HMAC-SHA256(SHARED_KEY, raw body). */
export function legacySignature(sharedKey: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', Buffer.from(sharedKey, 'utf8')).update(body).digest('hex')}`;
}

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over
 * `{webhook-id}.{webhook-timestamp}.{body}`. The spec's secret is
 * `whsec_<base64 key>`; here the key is the UTF-8 bytes of SHARED_KEY, i.e.
 * receivers configure `whsec_` + base64(SHARED_KEY).
 */
export function standardSignature(sharedKey: string, webhookId: string, timestamp: number, body: Buffer): string {
  const mac = createHmac('sha256', Buffer.from(sharedKey, 'utf8'));
  mac.update(`${webhookId}.${timestamp}.`, 'utf8');
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** Every header of one webhook attempt (issue 5): the 002 set plus the Standard Webhooks set. */
export function webhookHeaders(input: WebhookHeaderInput): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': OUTBOUND_USER_AGENT,
    'X-Signature': legacySignature(input.sharedKey, input.body),
    'X-Delivery-Attempt': String(input.attempt),
    'X-Job-ID': input.jobId,
    'webhook-id': input.webhookId,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': standardSignature(input.sharedKey, input.webhookId, input.timestamp, input.body),
  };
}
