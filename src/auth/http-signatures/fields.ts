/**
 * Field helpers shared by the signer and the verifier: reading a header as RFC 9421 §2.1 sees it,
 * and cutting a Structured Fields dictionary into its members' raw text.
 */
import { parseDictionary, parseItem } from 'structured-headers';

/** Request headers as node gives them (`IncomingHttpHeaders`): lowercase names. */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** Bytes of OWS (SP, HTAB) that RFC 9421 §2.1 strips from each field line. */
const trimOws = (value: string): string => value.replace(OWS_EDGES, '');
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/**
 * The component value of a header field (RFC 9421 §2.1): each field line trimmed, several lines joined
 * with `", "`. Node already joins repeated lines of most fields with `", "`; an array (set by a caller or
 * a framework) is joined here the same way. `undefined` when the field is absent.
 */
export function fieldValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return trimOws(value);
  if (value.length === 0) return undefined;
  let out = trimOws(value[0]);
  for (let i = 1; i < value.length; i++) out += ', ' + trimOws(value[i]);
  return out;
}

/**
 * The members of a dictionary field value, key → raw member text (value and parameters exactly as sent,
 * OWS around it removed), in order. Call it only on text the Structured Fields parser accepted: it relies
 * on that (commas can then only appear inside strings or between members). `null` when a key repeats:
 * RFC 8941 lets the last one win, which would let an intermediary-added member shadow the signed one, so a
 * repeated label is refused instead.
 */
export function rawDictionaryMembers(field: string): Map<string, string> | null {
  const members = new Map<string, string>();
  let start = 0;
  let inString = false;
  for (let i = 0; i <= field.length; i++) {
    const c = i < field.length ? field.charCodeAt(i) : COMMA;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      continue;
    }
    if (c !== COMMA) continue;
    const member = trimOws(field.slice(start, i));
    start = i + 1;
    let keyEnd = 0;
    while (keyEnd < member.length && member.charCodeAt(keyEnd) !== EQUALS && member.charCodeAt(keyEnd) !== SEMICOLON) keyEnd++;
    const key = member.slice(0, keyEnd);
    if (members.has(key)) return null;
    members.set(key, member.charCodeAt(keyEnd) === EQUALS ? member.slice(keyEnd + 1) : '?1' + member.slice(keyEnd));
  }
  return members;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const SEMICOLON = 0x3b;

/** An sf-string (RFC 8941 §3.3.3) of printable ASCII; throws on any other character. */
export function serializeSfString(value: string): string {
  if (!SF_STRING_CHARS.test(value)) throw new TypeError(`not a Structured Fields string (printable ASCII only): ${JSON.stringify(value)}`);
  return '"' + value.replace(SF_STRING_ESCAPES, '\\$&') + '"';
}
const SF_STRING_CHARS = /^[\x20-\x7e]*$/;
const SF_STRING_ESCAPES = /["\\]/g;

/**
 * Structured Fields values as this module reads them. structured-headers types its bare items with the DOM's
 * `BufferSource`, absent from this project's libs; these types say what the parser returns here (byte
 * sequences are `ArrayBuffer`s) without leaking an unresolved type.
 */
export type SfParameters = ReadonlyMap<string, unknown>;
export type SfItem = readonly [unknown, SfParameters];
export type SfInnerList = readonly [readonly SfItem[], SfParameters];
export type SfDictionary = ReadonlyMap<string, SfItem | SfInnerList>;

/** RFC 8941 dictionary; throws structured-headers' ParseError on invalid input. */
export function parseSfDictionary(field: string): SfDictionary {
  const parsed: unknown = parseDictionary(field);
  return parsed as SfDictionary;
}
/** RFC 8941 item; throws on invalid input. */
export function parseSfItem(field: string): SfItem {
  const parsed: unknown = parseItem(field);
  return parsed as SfItem;
}
