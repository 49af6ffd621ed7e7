import type { BodyLimits } from './json-limits.js';

/** The body exceeds one of the pre-parse limits. */
export class JsonShapeLimit extends Error {
  constructor(
    readonly kind: 'values' | 'depth',
    readonly limit: number,
  ) {
    super(kind === 'depth' ? `JSON nesting deeper than ${limit} levels` : `more than ${limit.toLocaleString('en-US')} JSON values`);
    this.name = 'JsonShapeLimit';
  }
}

const QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COMMA = 0x2c,
  COLON = 0x3a;
const OPEN_OBJECT = 0x7b,
  CLOSE_OBJECT = 0x7d,
  OPEN_ARRAY = 0x5b,
  CLOSE_ARRAY = 0x5d;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Counts the values and the nesting depth of a JSON text as its bytes arrive,
 * without building anything, and stops at the first limit exceeded — so a
 * decompression bomb is refused after the bytes that prove it, not after all
 * of them. It does not validate the grammar (the parser does): on malformed
 * input its counts are only estimates, which is all a limit needs.
 */
export class JsonShapeScanner {
  values = 0;
  maxDepthSeen = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside a scalar (number or literal) already counted. */
  private inScalar = false;
  /** Whether the next string is an object key (not counted as a value). */
  private expectKey = false;
  /** Container kinds by depth: 1 = object, 2 = array. */
  private readonly stack: Uint8Array;

  constructor(private readonly limits: Pick<BodyLimits, 'maxValues' | 'maxDepth'>) {
    this.stack = new Uint8Array(limits.maxDepth + 2);
  }

  /** Feeds the next bytes; throws JsonShapeLimit as soon as a limit is exceeded. */
  feed(chunk: Uint8Array): void {
    let { values, depth, inString, escaped, inScalar, expectKey } = this;
    const { maxValues, maxDepth } = this.limits;
    const stack = this.stack;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
        continue;
      }
      if (isSpace(c)) {
        inScalar = false;
        continue;
      }
      switch (c) {
        case QUOTE:
          inString = true;
          inScalar = false;
          if (expectKey) expectKey = false;
          else values++;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          values++;
          inScalar = false;
          if (++depth > maxDepth) {
            this.depth = depth;
            throw new JsonShapeLimit('depth', maxDepth);
          }
          stack[depth] = c === OPEN_OBJECT ? 1 : 2;
          expectKey = c === OPEN_OBJECT;
          if (depth > this.maxDepthSeen) this.maxDepthSeen = depth;
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          inScalar = false;
          expectKey = false;
          if (depth > 0) depth--;
          break;
        case COMMA:
          inScalar = false;
          expectKey = stack[depth] === 1;
          break;
        case COLON:
          inScalar = false;
          expectKey = false;
          break;
        default:
          if (!inScalar) {
            inScalar = true;
            values++;
          }
      }
      if (values > maxValues) {
        this.values = values;
        throw new JsonShapeLimit('values', maxValues);
      }
    }
    Object.assign(this, { values, depth, inString, escaped, inScalar, expectKey });
  }
}
