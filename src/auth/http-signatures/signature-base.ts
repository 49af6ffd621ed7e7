/**
 * RFC 9421 §2 component values and §2.5 signature base, for requests. Pure string work, shared by the
 * signer and the verifier so both build the same bytes.
 */
import { fieldValue, serializeSfString, type HeaderMap } from './fields.js';

/** What the verifier (and the signer) needs to know about a request. */
export interface SignedRequestView {
  method: string;
  /** Request target as sent: path and query (`req.originalUrl`), or an absolute URL. */
  url: string;
  /** Host (and port) of the target; defaults to the `host` header. */
  authority?: string;
  scheme?: 'http' | 'https';
  /** Lowercase names (node's `IncomingHttpHeaders`). */
  headers: HeaderMap;
}

/** One covered component: its name, and the decoded `name` parameter of `@query-param`. */
export interface ComponentIdentifier {
  name: string;
  queryParam?: string;
}

/** A component that cannot be derived from the message (absent header, unsupported parameter…). */
export class SignatureBaseError extends Error {}

const DERIVED = new Set(['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', '@query-param']);
/** Component parameters of RFC 9421 §2.1 this profile does not implement. */
const UNSUPPORTED_PARAMETERS = new Set(['sf', 'bs', 'key', 'req', 'tr']);
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * Checks a parsed component identifier (an sf-string with parameters) and returns it, or throws
 * SignatureBaseError with the reason.
 */
export function componentIdentifier(name: unknown, parameters: ReadonlyMap<string, unknown>): ComponentIdentifier {
  if (typeof name !== 'string') throw new SignatureBaseError('covered components must be strings');
  const derived = name.charCodeAt(0) === 0x40; // '@'
  if (derived ? !DERIVED.has(name) : !FIELD_NAME.test(name)) {
    throw new SignatureBaseError(derived ? `unsupported derived component "${name}"` : `"${name}" is not a lowercase field name`);
  }
  let queryParam: string | undefined;
  for (const [key, value] of parameters) {
    if (key === 'name' && name === '@query-param' && typeof value === 'string') queryParam = value;
    else if (UNSUPPORTED_PARAMETERS.has(key)) throw new SignatureBaseError(`component parameter ";${key}" (on "${name}") is not supported`);
    else throw new SignatureBaseError(`unexpected component parameter ";${key}" on "${name}"`);
  }
  if (name === '@query-param' && queryParam === undefined) throw new SignatureBaseError('"@query-param" needs a ;name="…" parameter');
  return queryParam === undefined ? { name } : { name, queryParam };
}

/** The identifier as it appears at the start of its signature base line (RFC 9421 §2.5). */
export function serializeComponentIdentifier(component: ComponentIdentifier): string {
  const name = '"' + component.name + '"';
  return component.queryParam === undefined ? name : name + ';name=' + serializeSfString(component.queryParam);
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** Splits `url` into the path and the query with its `?` (`''` when there is none). */
function target(url: string): { path: string; query: string } {
  let pathAndQuery = url;
  if (url.charCodeAt(0) !== 0x2f /* '/' */ && url !== '*') {
    const parsed = parseUrl(url);
    if (!parsed) throw new SignatureBaseError('the request target is not a path or an absolute URL');
    pathAndQuery = parsed.pathname + parsed.search;
  }
  const mark = pathAndQuery.indexOf('?');
  return mark < 0 ? { path: pathAndQuery, query: '' } : { path: pathAndQuery.slice(0, mark), query: pathAndQuery.slice(mark) };
}

function authorityOf(view: SignedRequestView): string {
  const authority = view.authority ?? fieldValue(view.headers, 'host');
  if (!authority) throw new SignatureBaseError('"@authority" cannot be derived: no authority or host header');
  return authority.toLowerCase();
}

function schemeOf(view: SignedRequestView): string {
  if (view.scheme) return view.scheme;
  const parsed = view.url.charCodeAt(0) === 0x2f ? null : parseUrl(view.url);
  if (!parsed) throw new SignatureBaseError('"@scheme" cannot be derived: the scheme of the request is unknown');
  return parsed.protocol.slice(0, -1);
}

/** WHATWG "percent-encode after encoding" with the application/x-www-form-urlencoded set, space as %20 (RFC 9421 §2.2.8). */
export function encodeQueryParamPart(value: string): string {
  return encodeURIComponent(value).replace(FORM_EXTRA, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
const FORM_EXTRA = /[!'()~]/g;

/** The value of one covered component (RFC 9421 §2.1, §2.2); throws SignatureBaseError when it cannot be derived. */
export function componentValue(view: SignedRequestView, component: ComponentIdentifier): string {
  switch (component.name) {
    case '@method':
      return view.method;
    case '@path': {
      const { path } = target(view.url);
      return path === '' ? '/' : path;
    }
    case '@query': {
      const { query } = target(view.url);
      return query === '' ? '?' : query;
    }
    case '@request-target':
      return view.url;
    case '@authority':
      return authorityOf(view);
    case '@scheme':
      return schemeOf(view);
    case '@target-uri': {
      const { path, query } = target(view.url);
      return schemeOf(view) + '://' + authorityOf(view) + (path === '' ? '/' : path) + query;
    }
    case '@query-param': {
      const wanted = component.queryParam!;
      let found: string | undefined;
      for (const [name, value] of new URLSearchParams(target(view.url).query)) {
        if (encodeQueryParamPart(name) !== wanted) continue;
        // RFC 9421 §2.2.8: a repeated parameter must not be signed on its own (sign "@query" instead).
        if (found !== undefined) throw new SignatureBaseError(`query parameter "${wanted}" occurs more than once`);
        found = encodeQueryParamPart(value);
      }
      if (found === undefined) throw new SignatureBaseError(`covered query parameter "${wanted}" is absent`);
      return found;
    }
    default: {
      const value = fieldValue(view.headers, component.name);
      if (value === undefined) throw new SignatureBaseError(`covered header "${component.name}" is absent`);
      return value;
    }
  }
}

/**
 * The signature base (RFC 9421 §2.5): one line per covered component, then the `"@signature-params"`
 * line whose value is `signatureParams` — the inner list exactly as it was sent (or produced by the signer).
 */
export function signatureBase(view: SignedRequestView, components: readonly ComponentIdentifier[], signatureParams: string): string {
  let base = '';
  for (const component of components) {
    const value = componentValue(view, component);
    if (value.includes('\n') || value.includes('\r')) throw new SignatureBaseError(`component "${component.name}" contains a line break`);
    base += serializeComponentIdentifier(component) + ': ' + value + '\n';
  }
  return base + '"@signature-params": ' + signatureParams;
}
