import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request } from 'undici';

/** A non-2xx answer to the upload, for the gateway to turn into the SDK's error of that status. */
export class UploadHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly body: unknown,
  ) {
    super(`File upload answered HTTP ${status}`);
  }
}

/**
 * `POST {baseURL}/files` (purpose `batch`) streaming the JSONL from disk.
 *
 * Not through the SDK on purpose: measured on Node 20, every fetch-based
 * upload (the SDK's `toFile`, `toStreamingFile`, a plain streamed fetch body)
 * held the whole file in memory — ~190 MB per part — while undici's `request`
 * honours socket backpressure and stays within a few MB. The multipart body
 * is the same `purpose` + `file` form the SDK sends, with an exact
 * Content-Length, and a fresh file stream per call so a failed upload can be
 * repeated.
 */
export async function uploadBatchFile(args: {
  baseURL: string;
  apiKey: string;
  path: string;
  filename: string;
  timeoutMs: number;
  /** The caller's abort (lost claim, shutdown), on top of the timeout. */
  signal?: AbortSignal;
}): Promise<{ id: string }> {
  const boundary = `gs-${randomBytes(16).toString('hex')}`;
  const safeName = args.filename.replace(/["\r\n\\]/g, '_');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/jsonl\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { size } = await stat(args.path);
  async function* body(): AsyncGenerator<Buffer> {
    yield head;
    yield* createReadStream(args.path) as AsyncIterable<Buffer>;
    yield tail;
  }

  const response = await request(`${args.baseURL.replace(/\/+$/, '')}/files`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${args.apiKey}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + size + tail.length),
      accept: 'application/json',
    },
    body: Readable.from(body()),
    signal: args.signal ? AbortSignal.any([AbortSignal.timeout(args.timeoutMs), args.signal]) : AbortSignal.timeout(args.timeoutMs),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) headers.set(name, value.join(', '));
  }
  if (response.statusCode < 200 || response.statusCode >= 300) throw new UploadHttpError(response.statusCode, headers, json);
  const id = (json as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new UploadHttpError(502, headers, { error: { message: 'The file upload answer has no file id.' } });
  return { id };
}
