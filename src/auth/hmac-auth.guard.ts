import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppConfig } from '../config/app-config.js';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { canonicalMemberFromRaw } from './canonical-json.js';
import { verifySignature } from './hmac.js';
import { PUBLIC_ROUTE, SIGNED_SUBJECT, type SignedSubject } from './signed.decorator.js';
import { DEFAULT_CLIENT_ID, type AuthenticatedRequest } from './api-client.js';

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

    const provided = this.signatureOf(request, subject);
    if (provided === undefined || provided === '') {
      throw new ApiException(401, ErrorCode.MissingSignature, 'Missing HMAC signature: send it in the X-Signature header' +
        (subject === 'lots' ? ' or the body field "signature"' : ''));
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
    const field = (request.body as { signature?: unknown } | undefined)?.signature;
    return typeof field === 'string' ? field : field === undefined || field === null ? undefined : String(field);
  }

  private messageOf(request: AuthenticatedRequest, subject: SignedSubject): string | undefined {
    switch (subject) {
      case 'job_id': {
        const jobId: unknown = request.params.job_id;
        return typeof jobId === 'string' ? jobId : '';
      }
      case 'query': {
        const url = request.originalUrl;
        const mark = url.indexOf('?');
        return mark < 0 ? '' : url.slice(mark + 1);
      }
      case 'lots':
        if (!request.rawBody) return undefined;
        try {
          return canonicalMemberFromRaw(request.rawBody.toString('utf8'), 'lots');
        } catch {
          return undefined; // body-parser accepted it, so this cannot happen; refuse rather than guess
        }
    }
  }
}
