import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { checkMediaType, decoderFor, hasBody, readBody } from './body-reader.js';
import type { JsonBodyParser } from './json-body.parser.js';

/** What the JSON body middleware adds to a request (the signature guard reads it; see auth/api-client.ts). */
export interface ParsedBodyRequest extends Request {
  /** The body exactly as received (decompressed): what the signature covers. */
  rawBody?: Buffer;
  /** From the same single parse as `body`: the seed signature's message and the body's `signature` field. */
  signedBody?: { canonicalLots: string; signatureField?: string | null };
  /** SHA-256 of the content as received (before decompression), when the request carries `Content-Digest` (RFC 9530). */
  contentSha256?: Buffer;
}

/**
 * `req.body` parsed from `jsonText` on first read. The signature guard reads only
 * the signed message and the `signature` field computed by the same parse, so
 * a large body becomes JavaScript objects on the event loop only once its
 * request is authenticated.
 */
function defineLazyBody(req: Request, jsonText: string): void {
  let text: string | undefined = jsonText;
  let value: unknown;
  Object.defineProperty(req, 'body', {
    configurable: true,
    enumerable: true,
    get() {
      if (text !== undefined) {
        value = JSON.parse(text);
        text = undefined;
      }
      return value;
    },
    set(next: unknown) {
      text = undefined;
      value = next;
    },
  });
}

/**
 * The application's only body parser, mounted before every guard: media
 * type and charset (415), Content-Encoding (415), size, value count and
 * depth while reading (413 / 400), then one parse from the bytes kept in
 * `req.rawBody` — the bytes the signature is checked against.
 */
export function jsonBodyMiddleware(parser: JsonBodyParser) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!hasBody(req)) {
      next();
      return;
    }
    void (async () => {
      checkMediaType(req.headers['content-type']);
      const decoder = decoderFor(req.headers['content-encoding']);
      const digest = req.headers['content-digest'] === undefined ? undefined : createHash('sha256');
      const bytes = await readBody(req, parser.limits, decoder, digest);
      const request = req as ParsedBodyRequest;
      request.rawBody = bytes;
      if (digest) request.contentSha256 = digest.digest();
      if (bytes.length === 0) {
        req.body = {};
        return;
      }
      const parsed = await parser.parse(bytes);
      request.signedBody = { canonicalLots: parsed.canonicalLots, signatureField: parsed.signatureField };
      if ('value' in parsed.body) req.body = parsed.body.value;
      else defineLazyBody(req, parsed.body.jsonText);
    })().then(() => next(), next);
  };
}
