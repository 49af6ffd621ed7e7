import { canonicalMember, JsonRefusal, memberOf, parseRawJson, rawToValue, type RawJson } from '../json/canonical-json.js';
import { rawToSlicedJson, type SlicedJson } from './sliced-json.js';

/** What a body turns into: the seed signature's message and the value the routes see, from one parse. */
export interface ParsedJsonBody {
  ok: true;
  /** Python's canonical `json.dumps(body.lots, …)`: the message of a `@Signed('lots')` route. */
  canonicalLots: string;
  /** The body's `signature` field when it is a string, `null` when it is something else, absent when absent. */
  signatureField?: string | null;
  /**
   * The value the routes see: built directly when the body was parsed on the
   * event loop; as JSON text in slices when it was parsed in the pool (text
   * crosses the thread boundary cheaply, and becomes objects only after
   * authentication, a slice per event-loop turn).
   */
  body: { value: unknown } | { sliced: SlicedJson };
}

export interface RefusedJsonBody {
  ok: false;
  kind: 'utf8' | JsonRefusal['kind'];
  message: string;
  path?: string;
}

export type JsonBodyOutcome = ParsedJsonBody | RefusedJsonBody;

/**
 * Decodes the bytes as strict UTF-8 (no byte-order mark, no replacement
 * characters) and parses them exactly once. Runs on the event loop for small
 * bodies and in the parser pool for large ones; it returns its refusals
 * instead of throwing so they cross the thread boundary intact.
 */
export function parseJsonBody(bytes: Uint8Array, maxDepth: number, form: 'value' | 'sliced'): JsonBodyOutcome {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { ok: false, kind: 'utf8', message: 'Request body is not valid UTF-8' };
  }
  let tree: RawJson;
  try {
    tree = parseRawJson(text, { maxDepth });
  } catch (error) {
    if (error instanceof JsonRefusal) return { ok: false, kind: error.kind, message: error.message, path: error.path };
    if (error instanceof RangeError) return { ok: false, kind: 'depth', message: 'JSON nesting too deep' }; // stack overflow despite the limit
    throw error;
  }
  const signature = memberOf(tree, 'signature');
  const canonicalLots = canonicalMember(tree, 'lots'); // before rawToSlicedJson, which takes the arrays out of the tree
  return {
    ok: true,
    canonicalLots,
    ...(signature === undefined || signature === null ? {} : { signatureField: typeof signature === 'string' ? signature : null }),
    body: form === 'value' ? { value: rawToValue(tree) } : { sliced: rawToSlicedJson(tree) },
  };
}
