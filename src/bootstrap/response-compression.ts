import compression from 'compression';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Answers smaller than this go uncompressed: below ~1 KB the headers and CPU cost more than the bytes saved. */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/** Probe answers are tiny and polled by orchestrators that never ask for compression. */
const UNCOMPRESSED_PATHS = /^\/health(?:\/|$)/;

/**
 * Response compression for the public port (the management port is a server
 * of its own, untouched): `br` or `gzip` as the client's `Accept-Encoding`
 * prefers (q-values and `identity` honoured; no header → uncompressed), for
 * compressible types (JSON, the OpenAPI document, Swagger UI's scripts and
 * styles) above the threshold, with `Vary: Accept-Encoding`. Streamed answers
 * (results downloads) stay streamed: each write goes through the compressor
 * and respects its back-pressure, and the stream flushes after each page.
 * Only answers: request bodies are decompressed by the body reader
 * (src/common/body), a separate concern.
 */
export function responseCompression(): RequestHandler {
  const compress = compression({
    threshold: COMPRESSION_THRESHOLD_BYTES,
    filter: (request: Request, response: Response) => compression.filter(request, response),
  });
  // `compression` wraps write/end and hooks the headers of every answer it sees; a request that cannot be
  // compressed (probes; no Accept-Encoding — most API clients) skips it. Its answer then has no `Vary`, which is
  // harmless: a cache reusing an uncompressed answer for any client is correct; every compressed one still has `Vary`.
  return (request: Request, response: Response, next: NextFunction) => {
    if (request.headers['accept-encoding'] === undefined || UNCOMPRESSED_PATHS.test(request.path)) next();
    else compress(request, response, next);
  };
}
