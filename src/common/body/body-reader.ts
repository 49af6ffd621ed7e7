import { parse as parseContentType } from 'content-type';
import type { Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ApiException } from '../errors/api-exception.js';
import { Turns } from '../turns.js';
import { ErrorCode } from '../errors/error-code.js';
import { JsonShapeLimit, JsonShapeScanner } from './json-shape-scanner.js';
import type { BodyLimits } from './json-limits.js';

export const ACCEPTED_MEDIA_TYPES = 'application/json or application/*+json, charset absent or utf-8';
const JSON_SUBTYPE = /^application\/(?:json|[!#$%&'*.^`|~0-9a-z-]+\+json)$/;
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** Whether the request carries a body at all (a declared length above 0, or chunked framing). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

function unsupported(message: string, details: Record<string, unknown>): ApiException {
  return new ApiException(415, ErrorCode.UnsupportedMediaType, message, details);
}

/**
 * The only bodies the API reads: JSON in UTF-8. Any other media type or
 * charset (utf-7, latin1, utf-16, form types, text/plain, none) is refused
 * before a byte is read — a body that means one thing in UTF-8 and another in
 * the declared charset can then never be signed as one and processed as the
 * other (SPEC §12).
 */
export function checkMediaType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') {
    throw unsupported(`A request body needs Content-Type: application/json (${ACCEPTED_MEDIA_TYPES})`, { content_type: null });
  }
  let type: string;
  let charset: string | undefined;
  try {
    const parsed = parseContentType(header);
    type = parsed.type.toLowerCase();
    charset = parsed.parameters.charset;
  } catch {
    throw unsupported(`Malformed Content-Type; expected ${ACCEPTED_MEDIA_TYPES}`, { content_type: header });
  }
  if (!JSON_SUBTYPE.test(type)) {
    throw unsupported(`Content-Type ${type} is not accepted: send ${ACCEPTED_MEDIA_TYPES}`, { content_type: header });
  }
  // The parser is lenient (it drops `charset` without a value, keeps the first of two, ignores an unterminated quote):
  // any mention of a charset must be exactly one, well-formed `utf-8`, or a proxy could read what we did not.
  const mentions = header.match(/charset/gi)?.length ?? 0;
  if (mentions > 1 || (mentions === 1 && charset === undefined)) {
    throw unsupported('Ambiguous charset parameter: send exactly one charset=utf-8, or none', { content_type: header });
  }
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') {
    throw unsupported(`charset ${charset} is not accepted: JSON bodies must be UTF-8`, { content_type: header });
  }
}

/** The decompressor for the request's Content-Encoding, undefined for none; 415 for anything unknown or stacked. */
export function decoderFor(header: string | undefined): (() => NodeJS.ReadWriteStream) | undefined {
  const encoding = header?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return undefined;
  const decoder = DECODERS[encoding];
  if (!decoder) {
    throw unsupported(`Content-Encoding ${header} is not accepted: use gzip, deflate, br or none`, { content_encoding: header });
  }
  return decoder;
}

export function payloadTooLarge(message: string, details: Record<string, unknown>): ApiException {
  return new ApiException(413, ErrorCode.PayloadTooLarge, message, details);
}

function bodyTooLarge(limit: number, inflated: boolean): ApiException {
  return payloadTooLarge(`Request body exceeds the limit of ${limit} bytes${inflated ? ' once decompressed' : ''}`, { max_bytes: limit });
}

function shapeRefusal(error: JsonShapeLimit): ApiException {
  if (error.kind === 'depth') {
    return new ApiException(400, ErrorCode.JsonTooDeep, `Request body nests arrays and objects deeper than ${error.limit} levels`, {
      max_depth: error.limit,
    });
  }
  return payloadTooLarge(`Request body holds more than ${error.limit.toLocaleString('en-US')} JSON values`, { max_values: error.limit });
}

/**
 * Reads the body (decompressing it if needed) into one buffer, counting its
 * bytes and scanning its shape as they arrive: past a limit it stops at once,
 * drops what it kept, and lets the rest of the upload drain unread. The buffer
 * is a SharedArrayBuffer when it is large, so the parser pool reads it in
 * place. `wireDigest`, when given, is fed the bytes as they came over the
 * wire (still compressed): RFC 9530's Content-Digest covers those.
 */
export function readBody(
  req: IncomingMessage,
  limits: BodyLimits,
  decoder: (() => NodeJS.ReadWriteStream) | undefined,
  wireDigest?: Hash,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    return new Promise((_resolve, reject) =>
      discardThen(req, () => reject(bodyTooLarge(limits.maxBytes, false)), declared <= 2 * limits.maxBytes),
    );
  }

  return new Promise<Buffer>((resolve, reject) => {
    const scanner = new JsonShapeScanner(limits);
    const inflate = decoder?.();
    const source: Readable = (inflate as unknown as Readable | undefined) ?? req;
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    let size = 0;
    let settled = false;

    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      req.off('data', onWireData);
      source.off('data', onData);
      // These closures hold this promise, hence the body it resolves to, for as long as the request object lives
      // (a keep-alive socket keeps it until its next request); an error after this point has nobody to tell.
      req.off('close', onClose);
      req.off('error', onError);
      req.on('error', ignoreLateError);
      if (error) {
        chunks.length = 0;
        if (inflate) {
          req.unpipe(inflate);
          (inflate as unknown as Readable).destroy();
        }
        // A body that declared its length is read off (bounded by the limits) before the answer, as clients expect;
        // an unbounded chunked upload past the size limit is answered at once.
        const reasonable = Number.isFinite(declared) || wireBytes <= limits.maxBytes;
        discardThen(req, () => reject(error), reasonable);
      }
    };
    const incomplete = () => new ApiException(400, ErrorCode.InvalidJson, 'Request body was not received completely');
    const onClose = () => {
      if (!req.complete) finish(incomplete());
    };
    // The request stream fails only when the client's upload does (`aborted`, a reset): the client's failure, not a
    // server error with a stack in the log.
    const onError = () => finish(incomplete());
    const onWireData = (chunk: Buffer) => {
      wireBytes += chunk.length;
      wireDigest?.update(chunk);
      if (wireBytes > limits.maxBytes) finish(bodyTooLarge(limits.maxBytes, false));
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limits.maxBytes) return finish(bodyTooLarge(limits.maxBytes, inflate !== undefined));
      if (!inflate) wireDigest?.update(chunk);
      try {
        scanner.feed(chunk);
      } catch (error) {
        return finish(error instanceof JsonShapeLimit ? shapeRefusal(error) : error instanceof Error ? error : new Error(String(error)));
      }
      chunks.push(chunk);
    };

    if (inflate) {
      req.on('data', onWireData);
      inflate.on('error', () =>
        finish(new ApiException(400, ErrorCode.InvalidJson, `Request body is not valid ${req.headers['content-encoding']} data`)),
      );
      req.pipe(inflate);
    }
    source.on('data', onData);
    source.once('end', () => {
      if (settled) return;
      finish();
      concat(chunks, size, limits.inlineMaxBytes).then(resolve, reject);
    });
    req.once('close', onClose);
    req.once('error', onError);
  });
}

function ignoreLateError(): void {}

/** Discards the rest of the upload, then calls `done` — after the request ended when `waitForEnd`, else at once. */
function discardThen(req: IncomingMessage, done: () => void, waitForEnd: boolean): void {
  if (req.complete || !waitForEnd) {
    req.resume();
    done();
    return;
  }
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    done();
  };
  req.once('end', once);
  req.once('close', once);
  req.resume();
}

/**
 * One buffer of the body: a SharedArrayBuffer above `inlineMaxBytes`, filled
 * in turns (copying 15 MB into fresh shared memory takes some 60 ms).
 */
async function concat(chunks: Buffer[], size: number, inlineMaxBytes: number): Promise<Buffer> {
  if (size <= inlineMaxBytes) return Buffer.concat(chunks, size);
  const shared = Buffer.from(new SharedArrayBuffer(size));
  const turns = new Turns();
  let offset = 0;
  for (const chunk of chunks) {
    chunk.copy(shared, offset);
    offset += chunk.length;
    if (turns.due()) await turns.next();
  }
  chunks.length = 0;
  return shared;
}
