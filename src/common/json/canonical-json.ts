/**
 * Byte-exact re-implementation of Python's
 * `json.dumps(value, separators=(',', ':'), sort_keys=True)` — the form the
 * seed clients (reference 002) sign. It works on the *raw request text* so that
 * numbers keep the int/float distinction Python sees (`1` vs `1.0`), which a
 * JavaScript `JSON.parse` would erase.
 */

/** A JSON number as written on the wire. */
class RawNumber {
  constructor(readonly lexeme: string) {}
}
/**
 * A JSON object as written: keys and values alternating, in order, duplicates
 * included (a flat array costs a fraction of an object per member — this tree
 * may hold two million of them). Later duplicates win, as in Python and JavaScript.
 */
class RawObject {
  constructor(readonly entries: RawJson[]) {}

  /** The members once duplicates are resolved: each key with its last value. */
  members(): Map<string, RawJson> {
    const map = new Map<string, RawJson>();
    for (let i = 0; i < this.entries.length; i += 2) map.set(this.entries[i] as string, this.entries[i + 1]);
    return map;
  }
}
type RawJson = null | boolean | string | RawNumber | RawJson[] | RawObject;

const SAFE_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
};

/** Python's `ensure_ascii` string encoder: `\uXXXX` (lowercase) for all outside printable ASCII. */
export function pythonString(value: string): string {
  if (SAFE_ASCII.test(value)) return `"${value}"`;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const short = SHORT_ESCAPES[unit];
    if (short) out += short;
    else if (unit >= 0x20 && unit <= 0x7e) out += value[i];
    else out += '\\u' + unit.toString(16).padStart(4, '0');
  }
  return out + '"';
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside [1e-4, 1e16). */
export function pythonFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fraction = digits.slice(exponent + 1) || '0';
    return `${sign}${whole}.${fraction}`;
  }
  const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const expSign = exponent < 0 ? '-' : '+';
  return `${sign}${body}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function pythonNumber(lexeme: string): string {
  if (/[.eE]/.test(lexeme)) return pythonFloat(Number(lexeme));
  return lexeme === '-0' ? '0' : lexeme; // a Python int prints exactly its digits
}

/** Orders keys by Unicode code point, as Python's `sorted` does (JS sorts by UTF-16 unit). */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function serialiseInto(value: RawJson, out: string[]): void {
  if (value === null || value === true || value === false) out.push(String(value));
  else if (typeof value === 'string') {
    if (SAFE_ASCII.test(value)) out.push('"', value, '"');
    else out.push(pythonString(value));
  } else if (value instanceof RawNumber) out.push(pythonNumber(value.lexeme));
  else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      serialiseInto(value[i], out);
    }
    out.push(']');
  } else {
    const members = value.members();
    const keys = [...members.keys()].sort(compareCodePoints);
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      out.push(i > 0 ? ',' : '', pythonString(keys[i]), ':');
      serialiseInto(members.get(keys[i])!, out);
    }
    out.push('}');
  }
}

function serialise(value: RawJson): string {
  const out: string[] = [];
  serialiseInto(value, out);
  return out.join('');
}

/** Canonical form of an already-parsed JSON value (numbers taken as JavaScript sees them). */
export function canonicalJson(value: unknown): string {
  return serialise(toRaw(value));
}

function toRaw(value: unknown): RawJson {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number')
    return new RawNumber(Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloat(value));
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(toRaw);
  return new RawObject(Object.entries(value).flatMap(([k, v]) => [k, toRaw(v)]));
}

/** Why a JSON text was refused by the parser (see src/common/body for the HTTP statuses). */
export class JsonRefusal extends Error {
  constructor(
    readonly kind: 'syntax' | 'depth' | 'surrogate',
    message: string,
    /** Where in the document, as a dotted path (`lots.3.lot_id`), when known. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'JsonRefusal';
  }
}

export interface RawParseOptions {
  /** Deepest nesting of arrays and objects accepted (the parser recurses once per level). */
  maxDepth?: number;
}

const CONTROL = /[\x00-\x1f]/;
/** A UTF-16 surrogate without its pair: valid in a JSON escape, not text that can be stored or printed. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A strict JSON parser (RFC 8259, the grammar JSON.parse accepts) that keeps
 * number lexemes; string escapes are decoded by JSON.parse itself. It refuses
 * nesting deeper than `maxDepth` and strings holding a lone surrogate, naming
 * the path, so neither reaches a stack overflow or PostgreSQL.
 */
class RawParser {
  private i = 0;
  private depth = 0;
  private readonly maxDepth: number;
  private readonly path: (string | number)[] = [];
  private readonly stack: RawJson[] = [];
  constructor(
    private readonly text: string,
    options: RawParseOptions = {},
  ) {
    this.maxDepth = options.maxDepth ?? 512;
  }

  parse(): RawJson {
    const value = this.value();
    this.space();
    if (this.i !== this.text.length) throw this.syntax(`Unexpected data at position ${this.i}`);
    return value;
  }

  private syntax(message: string): JsonRefusal {
    return new JsonRefusal('syntax', message);
  }

  private where(): string {
    return this.path.length === 0 ? '(root)' : this.path.join('.');
  }

  private space(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private value(): RawJson {
    this.space();
    const t = this.text;
    const c = t[this.i];
    if (c === '{' || c === '[') {
      if (++this.depth > this.maxDepth) {
        throw new JsonRefusal('depth', `JSON nesting deeper than ${this.maxDepth} levels at ${this.where()}`, this.where());
      }
      const nested = c === '{' ? this.object() : this.array();
      this.depth--;
      return nested;
    }
    if (c === '"') return this.string();
    if (t.startsWith('true', this.i)) return ((this.i += 4), true);
    if (t.startsWith('false', this.i)) return ((this.i += 5), false);
    if (t.startsWith('null', this.i)) return ((this.i += 4), null);
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.i;
    const number = match.exec(t);
    if (!number || number[0] === '') throw this.syntax(`Unexpected token at position ${this.i}`);
    this.i += number[0].length;
    return new RawNumber(number[0]);
  }

  private string(): string {
    const t = this.text;
    let end = this.i + 1;
    for (;;) {
      const next = t.indexOf('"', end);
      if (next < 0) throw this.syntax('Unterminated string');
      let backslashes = 0;
      for (let k = next - 1; t.charCodeAt(k) === 0x5c; k--) backslashes++;
      end = next + 1;
      if (backslashes % 2 === 0) break; // an unescaped quote closes the string
    }
    const inner = t.slice(this.i + 1, end - 1);
    if (CONTROL.test(inner)) throw this.syntax(`Unescaped control character in the string at position ${this.i}`);
    this.i = end;
    if (!inner.includes('\\')) return inner;
    let decoded: string;
    try {
      decoded = JSON.parse(`"${inner}"`) as string;
    } catch {
      throw this.syntax(`Invalid escape in the string at position ${this.i}`);
    }
    // Only a \uD8xx escape can produce one: strict UTF-8 decoding refused encoded surrogates already.
    if (LONE_SURROGATE.test(decoded)) {
      throw new JsonRefusal(
        'surrogate',
        `${this.where()}: contains a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape); strings must be valid Unicode`,
        this.where(),
      );
    }
    return decoded;
  }

  private array(): RawJson[] {
    this.i++;
    this.space();
    if (this.text[this.i] === ']') return (this.i++, []);
    // Items go on a shared stack, then into an array of their exact length (pushing into a fresh array over-allocates).
    const base = this.stack.length;
    for (let index = 0; ; index++) {
      this.path.push(index);
      this.stack.push(this.value());
      this.path.pop();
      this.space();
      const c = this.text[this.i++];
      if (c === ']') return this.take(base);
      if (c !== ',') throw this.syntax(`Expected , or ] at position ${this.i - 1}`);
    }
  }

  private take(base: number): RawJson[] {
    const items = this.stack.slice(base);
    this.stack.length = base;
    return items;
  }

  private object(): RawObject {
    this.i++;
    this.space();
    if (this.text[this.i] === '}') return (this.i++, new RawObject([]));
    const base = this.stack.length;
    for (;;) {
      this.space();
      if (this.text[this.i] !== '"') throw this.syntax(`Expected a key at position ${this.i}`);
      const key = this.string();
      this.space();
      if (this.text[this.i++] !== ':') throw this.syntax(`Expected : at position ${this.i - 1}`);
      this.path.push(key);
      this.stack.push(key, this.value());
      this.path.pop();
      this.space();
      const c = this.text[this.i++];
      if (c === '}') return new RawObject(this.take(base));
      if (c !== ',') throw this.syntax(`Expected , or } at position ${this.i - 1}`);
    }
  }
}

/** Parses a JSON text once into a tree that keeps number lexemes (throws JsonRefusal). */
export function parseRawJson(text: string, options: RawParseOptions = {}): RawJson {
  return new RawParser(text, options).parse();
}

/** Canonical form of one top-level member of a parsed document (`null`'s form when absent or not an object). */
export function canonicalMember(parsed: RawJson, member: string): string {
  return serialise(memberOf(parsed, member) ?? null);
}

/** A top-level member of a parsed document (the last one when repeated), undefined when absent or not an object. */
export function memberOf(parsed: RawJson, member: string): RawJson | undefined {
  if (!(parsed instanceof RawObject)) return undefined;
  let found: RawJson | undefined;
  for (let i = 0; i < parsed.entries.length; i += 2) if (parsed.entries[i] === member) found = parsed.entries[i + 1];
  return found;
}

/** Strings JSON text can carry between quotes as they are. */
const PLAIN_STRING = /^[^"\\\x00-\x1f\ud800-\udfff]*$/;

/**
 * The same tree as JSON text for JavaScript: what `JSON.parse` of it gives is
 * the value the application works on (numbers as JavaScript reads them,
 * duplicate keys resolved as the tree resolved them).
 */
export function rawToJsonText(value: RawJson): string {
  const parts: string[] = [];
  const write = (node: RawJson): void => {
    if (node === null || node === true || node === false) parts.push(String(node));
    else if (typeof node === 'string') {
      if (PLAIN_STRING.test(node)) parts.push('"', node, '"');
      else parts.push(JSON.stringify(node));
    } else if (node instanceof RawNumber) parts.push(JSON.stringify(Number(node.lexeme)));
    else if (Array.isArray(node)) {
      parts.push('[');
      for (let i = 0; i < node.length; i++) {
        if (i > 0) parts.push(',');
        write(node[i]);
      }
      parts.push(']');
    } else {
      // Every member as written: JSON.parse resolves duplicates exactly as the tree does (the last wins).
      parts.push('{');
      const entries = node.entries;
      for (let i = 0; i < entries.length; i += 2) {
        const key = entries[i] as string;
        if (i > 0) parts.push(',');
        if (PLAIN_STRING.test(key)) parts.push('"', key, '":');
        else parts.push(JSON.stringify(key), ':');
        write(entries[i + 1]);
      }
      parts.push('}');
    }
  };
  write(value);
  return parts.join('');
}

/**
 * The tree as the value `JSON.parse(rawToJsonText(tree))` gives, built
 * directly (bodies parsed on the event loop skip the text round trip):
 * numbers as rawToJsonText writes them (non-finite → null, -0 → 0), members
 * in first-seen order with the last duplicate's value, `__proto__` an own key.
 */
export function rawToValue(node: RawJson): unknown {
  if (node === null || typeof node === 'boolean' || typeof node === 'string') return node;
  if (node instanceof RawNumber) {
    const number = Number(node.lexeme);
    return Number.isFinite(number) ? number + 0 : null;
  }
  if (Array.isArray(node)) return node.map(rawToValue);
  const object: Record<string, unknown> = {};
  const entries = node.entries;
  for (let i = 0; i < entries.length; i += 2) {
    Object.defineProperty(object, entries[i] as string, {
      value: rawToValue(entries[i + 1]),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return object;
}

export type { RawJson };

/**
 * Canonical form of one top-level member (e.g. `lots`) of a raw JSON object
 * body, exactly as the seed's Python client computes it before signing.
 * Returns `null`'s form when the member is absent.
 */
export function canonicalMemberFromRaw(rawBody: string, member: string): string {
  return canonicalMember(parseRawJson(rawBody), member);
}

/** Canonical form of a whole raw JSON document. */
export function canonicalFromRaw(rawJson: string): string {
  return serialise(new RawParser(rawJson).parse());
}
