import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../common/clock.js';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { verifySignature } from './hmac.js';
import { PUBLIC_ROUTE, QUERY_PARAMETERS, SIGNED_SUBJECT, type SignedSubject } from './signed.decorator.js';
import { DEFAULT_CLIENT_ID, type ApiClient, type AuthenticatedRequest } from './api-client.js';
import { ClientsService, type ClientSettings, type VerificationKey } from './clients/clients.service.js';
import { NonceStore } from './clients/nonce-store.js';
import { ACCEPT_SIGNATURE, verifyMessageSignature, type SignatureFailure } from './http-signatures/index.js';

/** The window `created` must fall in, and how long a nonce is remembered (SPEC §4). */
const MAX_SKEW_SECONDS = 300;
/** Verified seed signatures remembered (polls of that many jobs), and the longest message remembered (a job id, a query). */
const MEMO_ENTRIES = 10_000;
const MEMO_MESSAGE_CHARS = 512;

/** The query string as sent, without `?` (the empty string when there is none). */
function rawQuery(request: AuthenticatedRequest): string {
  const url = request.originalUrl;
  const mark = url.indexOf('?');
  return mark < 0 ? '' : url.slice(mark + 1);
}

/** `metadata[*]` in an allow-list admits every `metadata[<key>]` parameter (a non-empty key without brackets). */
function matchesFamily(pattern: string, name: string): boolean {
  if (!pattern.endsWith('[*]')) return false;
  const prefix = pattern.slice(0, -2);
  return name.startsWith(prefix) && name.endsWith(']') && name.length > prefix.length + 1 && !/[[\]]/.test(name.slice(prefix.length, -1));
}

/** 400 for any parameter outside `allowed` — decided before, and whatever, the signature. */
function checkQueryParameters(query: string, allowed: readonly string[]): void {
  const unknown = new Set<string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const name = new URLSearchParams(part).keys().next().value ?? part;
    if (!allowed.includes(name) && !allowed.some((pattern) => matchesFamily(pattern, name))) unknown.add(name);
  }
  if (unknown.size === 0) return;
  const problems = [...unknown]
    .slice(0, 20)
    .map((name) => `${JSON.stringify(name)}: is not a query parameter of this route (accepted: ${allowed.join(', ')})`);
  throw new ApiException(400, ErrorCode.ValidationFailed, problems.slice(0, 5).join('; '), { problems });
}

/** How each RFC 9421 failure is answered: 401 when the client should (re)authenticate, 403 when its credentials are refused. */
const V2_FAILURES: Record<SignatureFailure, { status: 401 | 403; code: ErrorCode }> = {
  missing: { status: 401, code: ErrorCode.MissingSignature },
  malformed: { status: 401, code: ErrorCode.MalformedSignature },
  expired: { status: 401, code: ErrorCode.SignatureExpired },
  unknown_key: { status: 403, code: ErrorCode.UnknownKey },
  algorithm_mismatch: { status: 403, code: ErrorCode.InvalidSignature },
  digest_mismatch: { status: 403, code: ErrorCode.ContentDigestMismatch },
  invalid_signature: { status: 403, code: ErrorCode.InvalidSignature },
};

/** What a route's decorators say about authenticating it. */
interface RoutePolicy {
  public: boolean;
  subject?: SignedSubject;
  parameters?: readonly string[];
}

function refuse(status: 401 | 403, code: ErrorCode, message: string): ApiException {
  // A 401 tells the client what to sign (RFC 9421 §5.1).
  return new ApiException(status, code, message, undefined, status === 401 ? { 'Accept-Signature': ACCEPT_SIGNATURE } : undefined);
}

/**
 * Global guard: every route must declare `@Signed(subject)` or `@Public()`;
 * a route that declares neither is refused (deny by default), so a new
 * endpoint can never ship unauthenticated by accident (reference 003).
 *
 * Two schemes (SPEC §4):
 * - **v2, RFC 9421** (`Signature-Input` present): the client's key signs
 *   method, path, query and the body's `Content-Digest`; `created` within
 *   ±300 s and a nonce used once per key across every replica.
 * - **seed** (`X-Signature`, reference 002): HMAC over the route's subject —
 *   SHARED_KEY for the default client, or with `X-Key-Id` the key of a client
 *   whose seed scheme is on. Kept byte for byte for existing integrations.
 */
@Injectable()
export class SignatureAuthGuard implements CanActivate {
  private readonly policies = new WeakMap<object, RoutePolicy>();
  /** Seed signatures already verified (see checkHmac), oldest first. */
  private readonly verifiedSeed = new Set<string>();

  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly clients: ClientsService,
    private readonly nonces: NonceStore,
    private readonly clock: Clock,
  ) {}

  /** Synchronous on the hot path (a cached seed client); a promise when a key lookup or a nonce write is needed. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const policy = this.policyOf(context);
    if (policy.public) return true;
    const { subject, parameters } = policy;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!subject) {
      throw new ApiException(403, ErrorCode.InvalidSignature, 'This route has no signing policy and is refused');
    }
    if (parameters) checkQueryParameters(rawQuery(request), parameters);

    const headers = request.headers;
    const client =
      headers['signature-input'] !== undefined || headers.signature !== undefined
        ? this.verifyV2(request)
        : this.verifySeed(request, subject);
    if (client instanceof Promise) {
      return client.then((verified) => {
        request.client = verified;
        return true;
      });
    }
    request.client = client;
    return true;
  }

  /** The route's decorators, read once per handler (metadata is fixed once the application is built). */
  private policyOf(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    let policy = this.policies.get(handler);
    if (!policy) {
      const targets = [handler, context.getClass()];
      policy = {
        public: this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) === true,
        subject: this.reflector.getAllAndOverride<SignedSubject | undefined>(SIGNED_SUBJECT, targets),
        parameters: this.reflector.getAllAndOverride<readonly string[] | undefined>(QUERY_PARAMETERS, targets),
      };
      this.policies.set(handler, policy);
    }
    return policy;
  }

  private async verifyV2(request: AuthenticatedRequest): Promise<ApiClient> {
    let key: VerificationKey | null = null;
    const now = Math.floor(this.clock.now() / 1000);
    const result = await verifyMessageSignature(
      {
        method: request.method,
        url: request.originalUrl,
        // Asked only by a signature covering "@scheme" or "@target-uri": Express derives it from the trusted proxy
        // list (an address parse) on every read.
        get scheme() {
          return request.protocol === 'https' ? 'https' : 'http';
        },
        headers: request.headers,
      },
      {
        now,
        maxSkewSeconds: MAX_SKEW_SECONDS,
        // The body middleware hashes the content as received when the request carries Content-Digest; no body → the empty digest.
        bodyDigest: request.contentSha256 ?? null,
        lookupKey: async (keyId) => {
          key = await this.clients.findVerificationKey(keyId);
          return key && { algorithm: key.algorithm, key: key.key };
        },
      },
    );
    if (!result.ok) {
      const { status, code } = V2_FAILURES[result.reason];
      throw refuse(status, code, result.message);
    }
    const verified = key as VerificationKey | null;
    if (!verified) throw refuse(403, ErrorCode.UnknownKey, 'Unknown or revoked key');
    // Remembered until `created` leaves the window: after that the signature is refused as expired anyway.
    const rememberUntil = new Date((Math.max(result.created, now) + MAX_SKEW_SECONDS + 1) * 1000);
    if (!(await this.nonces.remember(verified.keyId, result.nonce, rememberUntil))) {
      throw refuse(401, ErrorCode.SignatureReplayed, 'This signature was already used: sign every request with a fresh nonce');
    }
    return { id: verified.clientId, keyId: verified.keyId, scheme: 'rfc9421', rateLimits: verified.rateLimits };
  }

  /** Synchronous when the client (or key) is cached — every poll but the first of each AUTH_KEY_CACHE_MS. */
  private verifySeed(request: AuthenticatedRequest, subject: SignedSubject): ApiClient | Promise<ApiClient> {
    const provided = this.signatureOf(request, subject);
    if (provided === undefined || provided === '') {
      throw refuse(
        401,
        ErrorCode.MissingSignature,
        'Missing signature: sign the request with RFC 9421 (Signature-Input, Signature) or send the HMAC in the X-Signature header' +
          (subject === 'lots' ? ' or the body field "signature"' : ''),
      );
    }
    const message = this.messageOf(request, subject);
    const keyIdHeader = request.headers['x-key-id'];
    const keyId = Array.isArray(keyIdHeader) ? keyIdHeader[0] : keyIdHeader;
    if (keyId === undefined) {
      const verify = (found: ClientSettings | null) => this.seedWithSharedKey(found, message, provided);
      const cached = this.clients.cachedClient(DEFAULT_CLIENT_ID);
      return cached ? verify(cached.value) : this.clients.findClient(DEFAULT_CLIENT_ID).then(verify);
    }
    const verify = (key: VerificationKey | null) => this.seedWithClientKey(key, message, provided);
    const cached = this.clients.cachedVerificationKey(keyId);
    return cached ? verify(cached.value) : this.clients.findVerificationKey(keyId).then(verify);
  }

  /** The default client: SHARED_KEY, unless its seed scheme was turned off. */
  private seedWithSharedKey(found: ClientSettings | null, message: string | undefined, provided: string): ApiClient {
    if (found && !found.legacyScheme) throw this.seedSchemeOff();
    this.checkHmac('', this.config.auth.sharedKey, message, provided);
    return { id: DEFAULT_CLIENT_ID, scheme: 'seed', rateLimits: found?.rateLimits };
  }

  /** Another client (`X-Key-Id`): its HMAC key, once its seed scheme is on. */
  private seedWithClientKey(key: VerificationKey | null, message: string | undefined, provided: string): ApiClient {
    if (!key || key.algorithm !== 'hmac-sha256') throw refuse(403, ErrorCode.UnknownKey, 'Unknown or revoked key');
    if (!key.legacyScheme) throw this.seedSchemeOff();
    this.checkHmac(key.keyId, key.key, message, provided);
    return { id: key.clientId, keyId: key.keyId, scheme: 'seed', rateLimits: key.rateLimits };
  }

  /**
   * `keyTag` names the secret ('' for SHARED_KEY, else the key id: a key id's secret never changes). A seed
   * signature of a poll is the same on every poll of the job (HMAC of its id), so short messages whose signature
   * verified are remembered and the next poll skips the HMAC (its setup is most of a poll's signature cost). Only
   * successes are kept, keyed by the exact text sent; the key itself is still looked up (and refused once revoked)
   * before this runs.
   */
  private checkHmac(keyTag: string, secret: string | Buffer, message: string | undefined, provided: string): void {
    if (message === undefined) throw refuse(403, ErrorCode.InvalidSignature, 'Invalid HMAC signature');
    const memo = message.length <= MEMO_MESSAGE_CHARS ? `${keyTag}\n${message}\n${provided}` : undefined;
    if (memo !== undefined && this.verifiedSeed.has(memo)) return;
    if (!verifySignature(secret, message, provided)) throw refuse(403, ErrorCode.InvalidSignature, 'Invalid HMAC signature');
    if (memo === undefined) return;
    if (this.verifiedSeed.size >= MEMO_ENTRIES) this.verifiedSeed.delete(this.verifiedSeed.keys().next().value!);
    this.verifiedSeed.add(memo);
  }

  private seedSchemeOff(): ApiException {
    return refuse(403, ErrorCode.SignatureSchemeDisabled, "This client's seed signature scheme is turned off: sign with RFC 9421");
  }

  private signatureOf(request: AuthenticatedRequest, subject: SignedSubject): string | undefined {
    const header = request.headers['x-signature'];
    if (Array.isArray(header)) return header[0];
    if (header !== undefined) return header;
    if (subject !== 'lots') return undefined;
    // Read from the parse the body middleware did: the body itself is materialised only after authentication.
    const field = request.signedBody?.signatureField;
    return field === null ? 'not-a-string' : field;
  }

  private messageOf(request: AuthenticatedRequest, subject: SignedSubject): string | undefined {
    switch (subject) {
      case 'job_id': {
        const jobId: unknown = request.params.job_id;
        return typeof jobId === 'string' ? jobId : '';
      }
      case 'query':
        return rawQuery(request);
      case 'lots':
        // Computed by the body middleware from the same parse that produced `request.body`, over `request.rawBody`.
        return request.signedBody?.canonicalLots;
    }
  }
}
