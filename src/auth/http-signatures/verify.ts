/**
 * Verifier of "Signature v2" (SPEC §4): RFC 9421 HTTP Message Signatures, narrow profile.
 *
 * Order of checks, cheapest first, so that no key is looked up for a request that is refused on syntax:
 *   1. both fields present (`missing`), within size caps, parsable, no repeated label (`malformed`);
 *   2. the label: the one asked for, else the first whose parameters and covered components satisfy the
 *      profile (`malformed` with the first label's reason when none does);
 *   3. `created` within ±maxSkew of now, `expires` not past (`expired`);
 *   4. the signature base can be built (every covered header present…) and a covered Content-Digest has a
 *      sha-256 member (`malformed`);
 *   5. the key lookup (`unknown_key`), `alg` against the key's algorithm (`algorithm_mismatch`);
 *   6. the signature (`invalid_signature`);
 *   7. only then the body: the covered Content-Digest against `bodyDigest` (`digest_mismatch`). Once the
 *      signature holds, the Content-Digest value is the signer's, so a mismatch means the body changed on the
 *      way; before it, a mismatch would say nothing about who sent what.
 * Replay (nonce reuse) is the caller's: it gets `keyId`, `nonce` and `created` back on success.
 */
import { timingSafeEqual, type KeyObject } from 'node:crypto';
import { SIGNATURE_ALGORITHMS, verifySignatureBytes, type SignatureAlgorithm } from './algorithms.js';
import { EMPTY_BODY_SHA256, parseContentDigest } from './content-digest.js';
import {
  fieldValue,
  parseSfDictionary,
  rawDictionaryMembers,
  serializeSfString,
  type SfDictionary,
  type SfInnerList,
  type SfItem,
} from './fields.js';
import {
  componentIdentifier,
  serializeComponentIdentifier,
  signatureBase,
  SignatureBaseError,
  type ComponentIdentifier,
  type SignedRequestView,
} from './signature-base.js';

/** Why a request was refused; the caller maps it to HTTP (401 for the first three, 403 for the others). */
export type SignatureFailure =
  'missing' | 'malformed' | 'expired' | 'unknown_key' | 'algorithm_mismatch' | 'digest_mismatch' | 'invalid_signature';

export interface VerificationKey {
  algorithm: SignatureAlgorithm;
  /** HMAC: the secret's raw bytes (base64-decoded). Ed25519: the 32 raw public-key bytes or a KeyObject. */
  key: Buffer | KeyObject;
}

export interface VerifiedSignature {
  ok: true;
  keyId: string;
  /** Always set under the profile; `''` only when `requireNonce: false` and the signer sent none. */
  nonce: string;
  created: number;
  expires?: number;
  label: string;
  /** Covered components in order: `@method`, `content-digest`, `@query-param;name="x"`… */
  components: string[];
  algorithm: SignatureAlgorithm;
}

export interface SignatureRejection {
  ok: false;
  reason: SignatureFailure;
  message: string;
}

export type SignatureVerification = VerifiedSignature | SignatureRejection;

export interface VerifyMessageSignatureOptions {
  /** Called once, after every syntactic check passed; `null` when the key id is unknown (or revoked). */
  lookupKey: (keyId: string) => Promise<VerificationKey | null>;
  /** Unix seconds; defaults to the wall clock. */
  now?: number;
  /** Accepted distance of `created` from now, both ways; default 300. */
  maxSkewSeconds?: number;
  /**
   * SHA-256 of the body bytes as received. `null`/absent means "no body": a covered Content-Digest is then
   * compared with the digest of the empty body, so forgetting to pass it fails closed.
   */
  bodyDigest?: Buffer | null;
  /** Components a signature must cover; default the profile: @method @path @query, plus content-digest with a body. */
  requiredComponents?: (hasBody: boolean) => readonly string[];
  /** Default true (the profile). False only for interoperability tests (the RFC's vectors carry no nonce). */
  requireNonce?: boolean;
  /** Verify this label only; default the first label that satisfies the profile. */
  label?: string;
}

/** Longer Signature-Input or Signature values are refused before parsing. */
export const MAX_SIGNATURE_FIELD_LENGTH = 4096;
export const MAX_NONCE_LENGTH = 128;
export const MAX_COVERED_COMPONENTS = 32;
export const DEFAULT_MAX_SKEW_SECONDS = 300;

const PROFILE_WITHOUT_BODY: readonly string[] = ['@method', '@path', '@query'];
const PROFILE_WITH_BODY: readonly string[] = ['@method', '@path', '@query', 'content-digest'];

/** The profile's required components for a request with or without a body. */
export const profileComponents = (hasBody: boolean): readonly string[] => (hasBody ? PROFILE_WITH_BODY : PROFILE_WITHOUT_BODY);

/** RFC 9421 §5.1 `Accept-Signature` value describing the profile, for 401 answers. */
export const ACCEPT_SIGNATURE = 'sig1=("@method" "@path" "@query" "content-digest");created;keyid;nonce';
/** The same for a request without a body. */
export const ACCEPT_SIGNATURE_WITHOUT_BODY = 'sig1=("@method" "@path" "@query");created;keyid;nonce';

/** Whether the request carries a body: content-length above 0, or any transfer-encoding. */
export function requestHasBody(headers: SignedRequestView['headers']): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = fieldValue(headers, 'content-length');
  return length !== undefined && length !== '' && length !== '0' && Number(length) !== 0;
}

interface Candidate {
  label: string;
  params: string;
  components: ComponentIdentifier[];
  created: number;
  expires?: number;
  keyId: string;
  nonce: string;
  alg?: SignatureAlgorithm;
  signature: Buffer;
}

const reject = (reason: SignatureFailure, message: string): SignatureRejection => ({ ok: false, reason, message });

/** Reads one Signature-Input member; a string is the reason it does not satisfy the profile. */
function candidate(
  label: string,
  member: SfItem | SfInnerList,
  params: string,
  signatures: SfDictionary,
  required: readonly string[],
  requireNonce: boolean,
): Candidate | string {
  const parameters = member[1];
  if (!Array.isArray(member[0])) return `Signature-Input "${label}" is not an inner list`;
  const list = member[0] as readonly SfItem[];
  if (list.length > MAX_COVERED_COMPONENTS) return `Signature-Input "${label}" covers more than ${MAX_COVERED_COMPONENTS} components`;
  const components: ComponentIdentifier[] = [];
  const seen = new Set<string>();
  for (const [name, componentParameters] of list) {
    let component: ComponentIdentifier;
    try {
      component = componentIdentifier(name, componentParameters);
    } catch (error) {
      return `Signature-Input "${label}": ${(error as Error).message}`;
    }
    const id = serializeComponentIdentifier(component);
    if (seen.has(id)) return `Signature-Input "${label}" covers ${id} twice`;
    seen.add(id);
    components.push(component);
  }
  for (const name of required) {
    if (!components.some((component) => component.name === name && component.queryParam === undefined)) {
      return `Signature-Input "${label}" must cover "${name}" (required: ${required.map((r) => `"${r}"`).join(' ')})`;
    }
  }

  const created = parameters.get('created');
  if (typeof created !== 'number' || !Number.isInteger(created) || created < 0)
    return `Signature-Input "${label}" needs an integer created`;
  const keyId = parameters.get('keyid');
  if (typeof keyId !== 'string' || keyId === '') return `Signature-Input "${label}" needs a keyid string`;
  const nonce = parameters.get('nonce');
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce === '' || nonce.length > MAX_NONCE_LENGTH)) {
    return `Signature-Input "${label}": nonce must be a string of 1 to ${MAX_NONCE_LENGTH} characters`;
  }
  if (requireNonce && nonce === undefined) return `Signature-Input "${label}" needs a nonce`;
  const alg = parameters.get('alg');
  if (alg !== undefined && !SIGNATURE_ALGORITHMS.includes(alg as SignatureAlgorithm)) {
    return `Signature-Input "${label}": alg must be one of ${SIGNATURE_ALGORITHMS.join(', ')}`;
  }
  const expires = parameters.get('expires');
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isInteger(expires) || expires < created)) {
    return `Signature-Input "${label}": expires must be an integer not before created`;
  }

  const signature = signatures.get(label);
  if (signature === undefined) return `Signature has no member "${label}"`;
  if (!(signature[0] instanceof ArrayBuffer)) return `Signature "${label}" is not a byte sequence`;

  return {
    label,
    params,
    components,
    created,
    keyId,
    nonce: nonce ?? '',
    ...(alg === undefined ? {} : { alg: alg as SignatureAlgorithm }),
    ...(expires === undefined ? {} : { expires }),
    signature: Buffer.from(signature[0]),
  };
}

function parseField(name: string, value: string): { dictionary: SfDictionary; raw: Map<string, string> } | string {
  if (value.length > MAX_SIGNATURE_FIELD_LENGTH) return `${name} longer than ${MAX_SIGNATURE_FIELD_LENGTH} bytes`;
  let dictionary: SfDictionary;
  try {
    dictionary = parseSfDictionary(value);
  } catch (error) {
    return `${name} is not a Structured Fields dictionary: ${(error as Error).message}`;
  }
  const raw = rawDictionaryMembers(value);
  if (raw === null) return `${name} repeats a label`;
  if (dictionary.size === 0) return `${name} is empty`;
  return { dictionary, raw };
}

/** Verifies the request's RFC 9421 signature under the profile; never throws for bad input (lookupKey errors propagate). */
export async function verifyMessageSignature(
  request: SignedRequestView,
  options: VerifyMessageSignatureOptions,
): Promise<SignatureVerification> {
  const inputField = fieldValue(request.headers, 'signature-input');
  const signatureField = fieldValue(request.headers, 'signature');
  if (!inputField || !signatureField) {
    return reject(
      'missing',
      inputField ? 'Signature header missing' : signatureField ? 'Signature-Input header missing' : 'no message signature',
    );
  }
  const inputs = parseField('Signature-Input', inputField);
  if (typeof inputs === 'string') return reject('malformed', inputs);
  const signatures = parseField('Signature', signatureField);
  if (typeof signatures === 'string') return reject('malformed', signatures);

  const hasBody = requestHasBody(request.headers);
  const required = (options.requiredComponents ?? profileComponents)(hasBody);
  const requireNonce = options.requireNonce ?? true;
  let chosen: Candidate | undefined;
  let firstProblem: string | undefined;
  for (const [label, member] of inputs.dictionary) {
    if (options.label !== undefined && label !== options.label) continue;
    const found = candidate(label, member, inputs.raw.get(label)!, signatures.dictionary, required, requireNonce);
    if (typeof found !== 'string') {
      chosen = found;
      break;
    }
    firstProblem ??= found;
  }
  if (!chosen) return reject('malformed', firstProblem ?? `no signature labelled "${options.label}"`);

  const now = options.now ?? Math.floor(Date.now() / 1000);
  const skew = options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (chosen.created < now - skew) return reject('expired', `signature created ${now - chosen.created} s ago (limit ${skew} s)`);
  if (chosen.created > now + skew) return reject('expired', `signature created ${chosen.created - now} s in the future (limit ${skew} s)`);
  if (chosen.expires !== undefined && chosen.expires <= now) return reject('expired', 'signature expired');

  let base: string;
  try {
    base = signatureBase(request, chosen.components, chosen.params);
  } catch (error) {
    if (error instanceof SignatureBaseError) return reject('malformed', error.message);
    throw error;
  }
  let signedDigest: Buffer | undefined;
  if (chosen.components.some((component) => component.name === 'content-digest')) {
    const parsed = parseContentDigest(fieldValue(request.headers, 'content-digest')!);
    if (!parsed.ok) return reject('malformed', parsed.message);
    signedDigest = parsed.sha256;
  }

  const key = await options.lookupKey(chosen.keyId);
  if (!key) return reject('unknown_key', `unknown key id "${chosen.keyId}"`);
  if (chosen.alg !== undefined && chosen.alg !== key.algorithm) {
    return reject('algorithm_mismatch', `alg "${chosen.alg}" does not match the key's algorithm "${key.algorithm}"`);
  }
  let valid: boolean;
  try {
    valid = verifySignatureBytes(key.algorithm, key.key, base, chosen.signature);
  } catch (error) {
    return reject('invalid_signature', `signature could not be verified: ${(error as Error).message}`);
  }
  if (!valid) return reject('invalid_signature', `signature "${chosen.label}" does not match the request`);

  if (signedDigest) {
    const actual = options.bodyDigest ?? EMPTY_BODY_SHA256;
    if (actual.length !== 32 || !timingSafeEqual(actual, signedDigest)) {
      return reject('digest_mismatch', 'the body does not match its signed Content-Digest');
    }
  }

  return {
    ok: true,
    keyId: chosen.keyId,
    nonce: chosen.nonce,
    created: chosen.created,
    ...(chosen.expires === undefined ? {} : { expires: chosen.expires }),
    label: chosen.label,
    components: chosen.components.map((component) =>
      component.queryParam === undefined ? component.name : component.name + ';name=' + serializeSfString(component.queryParam),
    ),
    algorithm: key.algorithm,
  };
}
