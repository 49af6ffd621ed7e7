import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import type { AppConfig } from '../config/app-config.js';

/**
 * One Content-Security-Policy for every answer, under which Swagger UI (/docs)
 * works: its scripts are all served files (the signing helper included, see
 * swagger.ts), so scripts need no 'unsafe-inline'; its React views set inline
 * styles, hence 'unsafe-inline' for styles only. No framing, no plugins, no
 * form posts elsewhere, no base-URI games.
 */
const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/** Headers a browser may send cross-origin to the API: the body type, the HMAC, a compressed body. */
export const CORS_ALLOWED_HEADERS = [
  'Content-Type',
  'X-Signature',
  'X-Key-Id',
  'Signature-Input',
  'Signature',
  'Content-Digest',
  'Content-Encoding',
  'Idempotency-Key',
  'X-Request-Id',
  'traceparent',
  'tracestate',
];
export const CORS_METHODS = ['GET', 'HEAD', 'POST'];

/**
 * Security headers (helmet), `Cache-Control: no-store`, and an explicit CORS
 * policy (CORS_ORIGINS; none by default) on every answer of the public port,
 * plus the server timeouts that bound slow clients.
 */
export function applyHttpHygiene(app: INestApplication, config: AppConfig): void {
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  // Job states change with every poll and results carry client data: no cache (browser or proxy) keeps them.
  app.use((_request: Request, response: Response, next: NextFunction) => {
    response.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Preflights are answered 204 whatever the origin; only a listed origin gets Access-Control-Allow-Origin.
  app.enableCors({
    origin: config.http.corsOrigins,
    methods: CORS_METHODS,
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: [
      'Retry-After',
      'Content-Disposition',
      'RateLimit-Policy',
      'RateLimit',
      'Idempotent-Replayed',
      'Accept-Signature',
      'X-Request-Id',
    ],
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
  boundServerTimeouts(app.getHttpServer() as Server, config.http);
}

/**
 * Node holds a request whose body trickles in for 5 minutes by default
 * (requestTimeout 300 s, checked every 30 s). Here: the whole request within
 * HTTP_REQUEST_TIMEOUT (sized for a 100 MB upload), headers within
 * HTTP_HEADERS_TIMEOUT, checked every second at most — past the bound the
 * client gets `408` and the connection is closed.
 */
export function boundServerTimeouts(server: Server, limits: AppConfig['http']): void {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Read when the server starts listening (Node ≥ 18.13), so it takes effect for app.listen().
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)),
  );
}
