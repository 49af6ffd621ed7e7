/** What replaces a secret in a log line. */
export const REDACTED = '[REDACTED]';

/** Header and field names whose values never reach a log line, wherever they sit in a logged object. */
const SECRET_KEYS = [
  'authorization',
  'proxy-authorization',
  'x-signature',
  'signature',
  'signature-input',
  'webhook-signature',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api_key',
  'apiKey',
  'shared_key',
  'sharedKey',
  'password',
];

const pathOf = (key: string) => (/^[a-z_][a-z0-9_]*$/i.test(key) ? `.${key}` : `["${key}"]`);

/**
 * pino `redact` paths: each secret key at the top level, one level down
 * (`headers.cookie`) and two (`req.headers.authorization`).
 */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((key) => [
  pathOf(key).replace(/^\./, ''),
  `*${pathOf(key)}`,
  `*.*${pathOf(key)}`,
]);

/**
 * Secret-shaped values inside free text (messages, error strings): OpenAI keys,
 * Standard Webhooks secrets, bearer tokens, and the service's signature formats
 * (`sha256=<hex>`, Standard Webhooks `v1,<base64>`, RFC 9421 `:<base64>:`).
 */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/\bsk-[A-Za-z0-9_-]{4,}/g, `sk-${REDACTED}`],
  [/\bwhsec_[A-Za-z0-9+/=_-]+/g, `whsec_${REDACTED}`],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, `Bearer ${REDACTED}`],
  [/\bsha256=[0-9a-fA-F]{64}\b/g, `sha256=${REDACTED}`],
  [/\bv1,[A-Za-z0-9+/]{43}=/g, `v1,${REDACTED}`],
  [/:[A-Za-z0-9+/]{40,}={0,2}:/g, `:${REDACTED}:`],
];

/** Removes known secret values (exact, e.g. SHARED_KEY) and secret-shaped values from `text`. */
export function scrubSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let scrubbed = text;
  for (const secret of knownSecrets) if (scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(REDACTED);
  for (const [pattern, replacement] of SECRET_PATTERNS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}
