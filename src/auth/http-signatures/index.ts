/**
 * "Signature v2" (SPEC §4): RFC 9421 HTTP Message Signatures with RFC 9530 Content-Digest, narrow profile.
 * Pure: no Nest, no database; the guard injects key lookup and replay protection.
 */
export { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './algorithms.js';
export {
  contentDigestHeader,
  contentDigestMatches,
  parseContentDigest,
  EMPTY_BODY_SHA256,
  MAX_CONTENT_DIGEST_LENGTH,
} from './content-digest.js';
export type { HeaderMap } from './fields.js';
export { signatureBase, SignatureBaseError, type ComponentIdentifier, type SignedRequestView } from './signature-base.js';
export { signRequest, type SignableRequest, type SignRequestOptions, type SignatureHeaders } from './sign.js';
export {
  verifyMessageSignature,
  requestHasBody,
  profileComponents,
  ACCEPT_SIGNATURE,
  ACCEPT_SIGNATURE_WITHOUT_BODY,
  DEFAULT_MAX_SKEW_SECONDS,
  MAX_COVERED_COMPONENTS,
  MAX_NONCE_LENGTH,
  MAX_SIGNATURE_FIELD_LENGTH,
  type SignatureFailure,
  type SignatureRejection,
  type SignatureVerification,
  type VerificationKey,
  type VerifiedSignature,
  type VerifyMessageSignatureOptions,
} from './verify.js';
