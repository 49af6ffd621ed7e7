import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { checkMediaType, decoderFor, hasBody, readBody } from './body-reader.js';
import { Turns } from '../turns.js';
import type { JsonBodyParser } from './json-body.parser.js';
import { SlicedJsonBuilder, type SlicedJson } from './sliced-json.js';

/** What the JSON body middleware adds to a request (the signature guard reads it; see auth/api-client.ts). */
export interface ParsedBodyRequest extends Request {
  /** The body exactly as received (decompressed): what the signature covers. */
  rawBody?: Buffer;
  /** From the same single parse as `body`: the seed signature's message and the body's `signature` field. */
  signedBody?: { canonicalLots: string; signatureField?: string | null };
  /** SHA-256 of the content as received (before decompression), when the request carries `Content-Digest` (RFC 9530). */
  contentSha256?: Buffer;
}

/** Bodies parsed in the pool whose objects are not built yet, with the parser that counts how they get built. */
const unbuilt = new WeakMap<Request, { builder: SlicedJsonBuilder; parser: JsonBodyParser }>();

/**
 * `req.body` built from the pool's sliced text: in turns by `buildBodyInTurns`
 * once the request is authenticated, or at once by whoever reads it first.
 * The signature guard reads only the signed message and the `signature` field
 * computed by the same parse, so a large body never becomes JavaScript objects
 * for a request that is not authenticated.
 */
function defineLazyBody(req: Request, sliced: SlicedJson, parser: JsonBodyParser): void {
  const builder = new SlicedJsonBuilder(sliced);
  unbuilt.set(req, { builder, parser });
  let built = false;
  let value: unknown;
  Object.defineProperty(req, 'body', {
    configurable: true,
    enumerable: true,
    get() {
      if (!built) {
        value = builder.complete();
        built = true;
        if (unbuilt.delete(req)) parser.bodiesBuiltAtOnce++;
      }
      return value;
    },
    set(next: unknown) {
      unbuilt.delete(req);
      built = true;
      value = next;
    },
  });
}

/** Whether `req` has a body whose objects are still to be built (most requests — GETs, small bodies — have none). */
export function hasUnbuiltBody(req: Request): boolean {
  return unbuilt.has(req);
}

/**
 * Builds a pooled body's objects a slice per event-loop turn (a 50,000-lot
 * body is some 120 slices of a millisecond or two), so that polls keep being
 * answered meanwhile. Call it only for an authenticated request; a no-op for
 * bodies already built, parsed on the event loop, or absent.
 */
export async function buildBodyInTurns(req: Request, turns = new Turns()): Promise<void> {
  const pending = unbuilt.get(req);
  if (!pending) return;
  await pending.builder.inTurns(turns);
  if (unbuilt.delete(req)) pending.parser.bodiesBuiltInTurns++;
}

/**
 * The application's only body parser, mounted before every guard: media
 * type and charset (415), Content-Encoding (415), size, value count and
 * depth while reading (413 / 400), then one parse from the bytes kept in
 * `req.rawBody` — the bytes the signature is checked against.
 */
export function jsonBodyMiddleware(parser: JsonBodyParser) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBody(req)) {
      next();
      return;
    }
    // A keep-alive socket keeps its last request object until the next request or its idle timeout: let go of the
    // body (15 MB of bytes and ~40 MB of objects for 50,000 lots) as soon as the answer is out, not seconds later.
    res.once('close', () => releaseBody(req as ParsedBodyRequest));
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
      else defineLazyBody(req, parsed.body.sliced, parser);
    })().then(() => next(), next);
  };
}

function releaseBody(req: ParsedBodyRequest): void {
  req.body = undefined; // a lazy body's setter also forgets its unbuilt slices
  req.rawBody = undefined;
  req.signedBody = undefined;
}
