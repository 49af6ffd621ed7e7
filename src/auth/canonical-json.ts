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
type RawJson = null | boolean | string | RawNumber | RawJson[] | { [key: string]: RawJson };

const SAFE_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x08: '\\b', 0x0c: '\\f' };

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

function serialise(value: RawJson): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return pythonString(value);
  if (value instanceof RawNumber) return pythonNumber(value.lexeme);
  if (Array.isArray(value)) return '[' + value.map(serialise).join(',') + ']';
  const keys = Object.keys(value).sort(compareCodePoints);
  return '{' + keys.map((key) => pythonString(key) + ':' + serialise(value[key])).join(',') + '}';
}

/** Canonical form of an already-parsed JSON value (numbers taken as JavaScript sees them). */
export function canonicalJson(value: unknown): string {
  return serialise(toRaw(value));
}

function toRaw(value: unknown): RawJson {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return new RawNumber(Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloat(value));
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(toRaw);
  return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toRaw(v)]));
}

/** A small JSON parser that keeps number lexemes; strings are decoded by JSON.parse itself. */
class RawParser {
  private i = 0;
  constructor(private readonly text: string) {}

  parse(): RawJson {
    const value = this.value();
    this.space();
    if (this.i !== this.text.length) throw new SyntaxError(`Unexpected data at position ${this.i}`);
    return value;
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
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (t.startsWith('true', this.i)) return (this.i += 4), true;
    if (t.startsWith('false', this.i)) return (this.i += 5), false;
    if (t.startsWith('null', this.i)) return (this.i += 4), null;
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.i;
    const number = match.exec(t);
    if (!number || number[0] === '') throw new SyntaxError(`Unexpected token at position ${this.i}`);
    this.i += number[0].length;
    return new RawNumber(number[0]);
  }

  private string(): string {
    const t = this.text;
    let end = this.i + 1;
    for (;;) {
      const next = t.indexOf('"', end);
      if (next < 0) throw new SyntaxError('Unterminated string');
      let backslashes = 0;
      for (let k = next - 1; t.charCodeAt(k) === 0x5c; k--) backslashes++;
      end = next + 1;
      if (backslashes % 2 === 0) break; // an unescaped quote closes the string
    }
    const slice = t.slice(this.i, end);
    this.i = end;
    return slice.includes('\\') ? (JSON.parse(slice) as string) : slice.slice(1, -1);
  }

  private array(): RawJson[] {
    this.i++;
    const items: RawJson[] = [];
    this.space();
    if (this.text[this.i] === ']') return this.i++, items;
    for (;;) {
      items.push(this.value());
      this.space();
      const c = this.text[this.i++];
      if (c === ']') return items;
      if (c !== ',') throw new SyntaxError(`Expected , or ] at position ${this.i - 1}`);
    }
  }

  private object(): { [key: string]: RawJson } {
    this.i++;
    const result: { [key: string]: RawJson } = Object.create(null);
    this.space();
    if (this.text[this.i] === '}') return this.i++, result;
    for (;;) {
      this.space();
      if (this.text[this.i] !== '"') throw new SyntaxError(`Expected a key at position ${this.i}`);
      const key = this.string();
      this.space();
      if (this.text[this.i++] !== ':') throw new SyntaxError(`Expected : at position ${this.i - 1}`);
      result[key] = this.value();
      this.space();
      const c = this.text[this.i++];
      if (c === '}') return result;
      if (c !== ',') throw new SyntaxError(`Expected , or } at position ${this.i - 1}`);
    }
  }
}

/**
 * Canonical form of one top-level member (e.g. `lots`) of a raw JSON object
 * body, exactly as the seed's Python client computes it before signing.
 * Returns `null`'s form when the member is absent.
 */
export function canonicalMemberFromRaw(rawBody: string, member: string): string {
  const parsed = new RawParser(rawBody).parse();
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || parsed instanceof RawNumber) return 'null';
  return serialise(parsed[member] ?? null);
}

/** Canonical form of a whole raw JSON document. */
export function canonicalFromRaw(rawJson: string): string {
  return serialise(new RawParser(rawJson).parse());
}
