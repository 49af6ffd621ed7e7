import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppConfig } from '../config/app-config.js';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { verifySignature } from './hmac.js';
import { PUBLIC_ROUTE, QUERY_PARAMETERS, SIGNED_SUBJECT, type SignedSubject } from './signed.decorator.js';
import { DEFAULT_CLIENT_ID, type AuthenticatedRequest } from './api-client.js';

/** The query string as sent, without `?` (the empty string when there is none). */
function rawQuery(request: AuthenticatedRequest): string {
  const url = request.originalUrl;
  const mark = url.indexOf('?');
  return mark < 0 ? '' : url.slice(mark + 1);
}

/** 400 for any parameter outside `allowed` — decided before, and whatever, the signature. */
function checkQueryParameters(query: string, allowed: readonly string[]): void {
  const unknown = new Set<string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const name = new URLSearchParams(part).keys().next().value ?? part;
    if (!allowed.includes(name)) unknown.add(name);
  }
  if (unknown.size === 0) return;
  const problems = [...unknown]
    .slice(0, 20)
    .map((name) => `${JSON.stringify(name)}: is not a query parameter of this route (accepted: ${allowed.join(', ')})`);
  throw new ApiException(400, ErrorCode.ValidationFailed, problems.slice(0, 5).join('; '), { problems });
}

/**
 * Global guard: every route must declare `@Signed(subject)` or `@Public()`.
 * A route that declares neither is refused (deny by default), so a new
 * endpoint can never ship unauthenticated by accident (reference 003).
 */
@Injectable()
export class HmacAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const subject = this.reflector.getAllAndOverride<SignedSubject>(SIGNED_SUBJECT, targets);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!subject) {
      throw new ApiException(403, ErrorCode.InvalidSignature, 'This route has no signing policy and is refused');
    }
    const parameters = this.reflector.getAllAndOverride<readonly string[] | undefined>(QUERY_PARAMETERS, targets);
    if (parameters) checkQueryParameters(rawQuery(request), parameters);

    const provided = this.signatureOf(request, subject);
    if (provided === undefined || provided === '') {
      throw new ApiException(
        401,
        ErrorCode.MissingSignature,
        'Missing HMAC signature: send it in the X-Signature header' + (subject === 'lots' ? ' or the body field "signature"' : ''),
      );
    }
    const message = this.messageOf(request, subject);
    if (message === undefined || !verifySignature(this.config.auth.sharedKey, message, provided)) {
      throw new ApiException(403, ErrorCode.InvalidSignature, 'Invalid HMAC signature');
    }
    request.client = { id: DEFAULT_CLIENT_ID };
    return true;
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
