import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from '../../auth/api-client.js';

/**
 * The id of the client the signature guard authenticated. Every jobs query is
 * scoped by it; a route reached without one is a wiring bug, so it fails
 * loudly instead of falling back to some default client.
 */
export const ClientId = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const id = context.switchToHttp().getRequest<AuthenticatedRequest>().client?.id;
  if (!id) throw new Error('No authenticated client on a signed route');
  return id;
});
