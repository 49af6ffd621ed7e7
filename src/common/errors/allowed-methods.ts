import type { Request } from 'express';

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  matchers?: ((path: string) => unknown)[];
}

/**
 * The methods the application routes for the request's path, from Express'
 * own route table (so it can never disagree with routing): empty when the
 * path itself is unknown. GET implies HEAD, as Express serves it.
 */
export function allowedMethods(request: Request): string[] {
  const stack = (request.app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route || !layer.matchers?.some((match) => match(request.path))) continue;
    for (const [method, enabled] of Object.entries(layer.route.methods)) {
      if (enabled && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
