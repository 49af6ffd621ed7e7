import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Visible ASCII except `"`, `,` and `\`: a bare key can never be mistaken for a quoted one or for two joined headers. */
const BARE_KEY = /^[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]+$/;

const PROBLEM =
  `${IDEMPOTENCY_KEY_HEADER}: must be a structured-field string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, ` +
  'such as "8e03978e-40d5-43e8-bc93-6894a57f9324" (quotes included; an unquoted key without spaces, quotes, commas or backslashes is accepted too)';

/**
 * The key of an `Idempotency-Key` header (IETF httpapi draft "The
 * Idempotency-Key HTTP Header Field"): an sf-string (`"…"`, RFC 8941
 * escapes), or for convenience the bare key without quotes. `undefined` when
 * the header is absent; 400 VALIDATION_FAILED when it is malformed, empty,
 * longer than 255 characters, or sent twice.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = typeof header === 'string' ? decode(header.trim()) : undefined;
  if (key === undefined || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new ApiException(400, ErrorCode.ValidationFailed, PROBLEM, { problems: [PROBLEM] });
  }
  return key;
}

function decode(value: string): string | undefined {
  return value.startsWith('"') ? sfString(value) : BARE_KEY.test(value) ? value : undefined;
}

/**
 * The value of a header that is exactly one sf-string (RFC 8941 §4.2.5):
 * printable ASCII between quotes, `\"` and `\\` the only escapes. Anything
 * after the closing quote (parameters, a second member) is refused: the
 * draft defines no parameters.
 */
function sfString(value: string): string | undefined {
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const char = value[i];
    const code = value.charCodeAt(i);
    if (char === '\\') {
      const next = value[++i];
      if (next !== '"' && next !== '\\') return undefined;
      out += next;
    } else if (char === '"') {
      return i === value.length - 1 ? out : undefined;
    } else if (code < 0x20 || code > 0x7e) {
      return undefined;
    } else {
      out += char;
    }
  }
  return undefined; // no closing quote
}
