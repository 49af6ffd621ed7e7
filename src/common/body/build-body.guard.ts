import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { buildBodyInTurns, hasUnbuiltBody } from './json-body.middleware.js';

/**
 * Global guard registered after the signature guard (JsonBodyModule is
 * mounted after AuthModule, and global guards run in registration order):
 * once a request is authenticated it builds a large body's objects in
 * turns, before any later guard, interceptor or pipe reads `req.body` — they
 * read it synchronously, and building a 50,000-lot body at once would hold
 * the event loop for a few hundred milliseconds. Never refuses anything.
 */
@Injectable()
export class BuildBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // `client` is set by the signature guard (src/auth) on the requests it authenticated; public routes get none.
    const request = context.switchToHttp().getRequest<Request & { client?: unknown }>();
    // Synchronous for everything else: this guard runs on every request, polls included.
    if (request.client === undefined || !hasUnbuiltBody(request)) return true;
    return buildBodyInTurns(request).then(() => true);
  }
}
