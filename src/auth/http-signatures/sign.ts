/**
 * Signer of "Signature v2" (RFC 9421 profile of SPEC §4): the headers a client adds to a request.
 * Used by the TypeScript client, the tests and the bench; node:crypto and structured-headers only.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { computeSignature, type SignatureAlgorithm } from './algorithms.js';
import { contentDigestHeader } from './content-digest.js';
import { parseSfItem, serializeSfString, type HeaderMap } from './fields.js';
import { componentIdentifier, serializeComponentIdentifier, signatureBase, type ComponentIdentifier } from './signature-base.js';

export interface SignableRequest {
  method: string;
  /** Path and query as they will be sent (`/api/v1/batch-jobs?limit=5`), or an absolute URL. */
  url: string;
  /** Any case; only needed for covered header fields. */
  headers?: HeaderMap;
  /** The exact bytes that will be sent (a string is sent as UTF-8). */
  body?: Buffer | Uint8Array | string;
  authority?: string;
  scheme?: 'http' | 'https';
}

export interface SignRequestOptions {
  keyId: string;
  algorithm: SignatureAlgorithm;
  /** HMAC: the secret's raw bytes (base64-decoded). Ed25519: a private KeyObject or the 32-byte seed. */
  key: Buffer | KeyObject;
  /** Unix seconds; default now. */
  created?: number;
  /** Default 16 random bytes, base64url; `null` leaves the parameter out (RFC vectors only: the profile requires it). */
  nonce?: string | null;
  expires?: number;
  /** Default `sig1`. */
  label?: string;
  /**
   * Covered components: bare names (`@method`, `content-type`) or serialized identifiers
   * (`"@query-param";name="limit"`). Default the profile: @method @path @query, and content-digest with a body.
   */
  components?: readonly string[];
  /** Send `alg` (default true; the RFC's vectors leave it out). */
  includeAlg?: boolean;
}

export interface SignatureHeaders {
  'signature-input': string;
  signature: string;
  'content-digest'?: string;
}

const DEFAULT_WITHOUT_BODY = ['@method', '@path', '@query'] as const;
const DEFAULT_WITH_BODY = ['@method', '@path', '@query', 'content-digest'] as const;
const LABEL = /^[a-z*][a-z0-9_\-.*]*$/;

function parseComponent(text: string): ComponentIdentifier {
  if (text.charCodeAt(0) !== 0x22 /* '"' */) return componentIdentifier(text, new Map());
  const [name, parameters] = parseSfItem(text);
  return componentIdentifier(name, parameters);
}

/** The Signature-Input, Signature and (with a body) Content-Digest headers for `request`. */
export function signRequest(request: SignableRequest, options: SignRequestOptions): SignatureHeaders {
  const label = options.label ?? 'sig1';
  if (!LABEL.test(label)) throw new TypeError(`not a valid signature label: ${label}`);
  const hasBody = request.body !== undefined && request.body.length > 0;

  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  let contentDigest: string | undefined;
  if (hasBody) {
    contentDigest = contentDigestHeader(request.body!);
    headers['content-digest'] = contentDigest;
  }

  const components = (options.components ?? (hasBody ? DEFAULT_WITH_BODY : DEFAULT_WITHOUT_BODY)).map(parseComponent);
  let params = '(' + components.map(serializeComponentIdentifier).join(' ') + ')';
  params += ';created=' + String(options.created ?? Math.floor(Date.now() / 1000));
  params += ';keyid=' + serializeSfString(options.keyId);
  const nonce = options.nonce === undefined ? randomBytes(16).toString('base64url') : options.nonce;
  if (nonce !== null) params += ';nonce=' + serializeSfString(nonce);
  if (options.includeAlg ?? true) params += ';alg=' + serializeSfString(options.algorithm);
  if (options.expires !== undefined) params += ';expires=' + String(options.expires);

  const view = { method: request.method, url: request.url, authority: request.authority, scheme: request.scheme, headers };
  const signature = computeSignature(options.algorithm, options.key, signatureBase(view, components, params));
  const result: SignatureHeaders = {
    'signature-input': label + '=' + params,
    signature: label + '=:' + signature.toString('base64') + ':',
  };
  if (contentDigest !== undefined) result['content-digest'] = contentDigest;
  return result;
}
