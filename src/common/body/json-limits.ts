/**
 * What one request body may cost before anyone knows who sent it (SPEC §12).
 * Each limit is far above what a legitimate request reaches and far below what
 * hurts the process: a 50,000-lot request with 20 images per lot is about
 * 64 MB of JSON, 2.25 million values and 5 levels deep.
 */

/** Largest body, on the wire and after Content-Encoding is undone (a 50,000 × 20-image request is ~64 MB). */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

/**
 * Most JSON values (objects, arrays, strings, numbers, literals; keys not
 * counted) in one body. A lot with 20 images is 45 values (the lot, lot_id,
 * additional_info, webhook, images, 20 × {url}), so 50,000 of them are
 * 2.25 million: the limit leaves a third more for extra fields, and refuses
 * 100 MB of `[],` (33 million values) after its first 9 MB. It also bounds
 * the parser's memory: ~80 bytes of tree per value.
 */
export const MAX_JSON_VALUES = 3_000_000;

/** Deepest nesting of arrays and objects. The documented body is 5 levels deep (body → lots → lot → images → image). */
export const MAX_JSON_DEPTH = 64;

/** Bodies up to this size are parsed on the event loop (well under 10 ms); larger ones in the parser pool. */
export const INLINE_PARSE_MAX_BYTES = 1024 * 1024;

/**
 * The parser pool: one thread with a bounded heap, so a body that passes the
 * counts above but is still too costly ends that thread (answered 413), not
 * the process. A 64 MB, 50,000 × 20-image body peaks at ~450 MB of heap
 * (measured); the 1 GB cap leaves room for the worst body the counts let
 * through, and one thread keeps the process under 1.5 GB of RSS. One thread
 * is enough on two cores: the event loop needs the other one, and large
 * bodies queue for it.
 */
export const PARSER_POOL = {
  maxThreads: 1,
  /** Bodies waiting for the thread; beyond that the API answers 503 with Retry-After. */
  maxQueue: 16,
  // A parsed 64 MB body leaves hundreds of MB in the thread's heap: end an idle thread soon so the process gives them back.
  idleTimeoutMs: 2_000,
  resourceLimits: { maxOldGenerationSizeMb: 1024, maxYoungGenerationSizeMb: 32, codeRangeSizeMb: 16, stackSizeMb: 4 },
} as const;

export interface BodyLimits {
  maxBytes: number;
  maxValues: number;
  maxDepth: number;
  inlineMaxBytes: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = {
  maxBytes: MAX_BODY_BYTES,
  maxValues: MAX_JSON_VALUES,
  maxDepth: MAX_JSON_DEPTH,
  inlineMaxBytes: INLINE_PARSE_MAX_BYTES,
};
