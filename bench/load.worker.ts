/**
 * A separate thread (own event loop, same process) that loads the server:
 * the server's event loop is then not shared with the load generator.
 * Commands arrive by message; each answers with one message.
 */
import { parentPort } from 'node:worker_threads';
import { Pool } from 'undici';
import { signRequest } from '../src/auth/http-signatures/index.js';

export type LoadCommand =
  | {
      mode: 'status';
      origin: string;
      path: string;
      headers: Record<string, string>;
      /** Sign every request afresh with RFC 9421 (a new nonce each time, as a real v2 client must). */
      v2?: { keyId: string; secret: string };
      connections: number;
      durationMs: number;
      warmupMs: number;
    }
  | { mode: 'download'; url: string; headers: Record<string, string> };

export type LoadAnswer =
  | { mode: 'status'; ok: number; failed: number; elapsedMs: number }
  | { mode: 'download'; status: number; bytes: number; elapsedMs: number; tail: string; contentDisposition: string | null };

function headersFor(command: Extract<LoadCommand, { mode: 'status' }>): () => Record<string, string> {
  const { v2 } = command;
  if (!v2) return () => command.headers;
  const key = Buffer.from(v2.secret, 'base64');
  return () => {
    const signed = signRequest({ method: 'GET', url: command.path }, { keyId: v2.keyId, algorithm: 'hmac-sha256', key });
    return { ...command.headers, 'signature-input': signed['signature-input'], signature: signed.signature };
  };
}

async function hammer(pool: Pool, command: Extract<LoadCommand, { mode: 'status' }>, durationMs: number) {
  const headers = headersFor(command);
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: command.connections }, async () => {
      while (performance.now() < end) {
        const res = await pool.request({ path: command.path, method: 'GET', headers: headers() });
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed, elapsedMs: performance.now() - started };
}

async function status(command: Extract<LoadCommand, { mode: 'status' }>): Promise<LoadAnswer> {
  const pool = new Pool(command.origin, { connections: command.connections, pipelining: 1 });
  try {
    await hammer(pool, command, command.warmupMs);
    return { mode: 'status', ...(await hammer(pool, command, command.durationMs)) };
  } finally {
    await pool.close();
  }
}

/** Reads the download as a client saving it to disk would: chunk by chunk, keeping nothing but a count. */
async function download(command: Extract<LoadCommand, { mode: 'download' }>): Promise<LoadAnswer> {
  const started = performance.now();
  const res = await fetch(command.url, { headers: command.headers });
  let bytes = 0;
  let tail = '';
  const decoder = new TextDecoder();
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    tail = (tail + decoder.decode(chunk.subarray(Math.max(0, chunk.byteLength - 16)))).slice(-16);
  }
  return {
    mode: 'download',
    status: res.status,
    bytes,
    elapsedMs: performance.now() - started,
    tail,
    contentDisposition: res.headers.get('content-disposition'),
  };
}

parentPort!.on('message', (command: LoadCommand) => {
  const run = command.mode === 'status' ? status(command) : download(command);
  run.then(
    (answer) => parentPort!.postMessage(answer),
    (error: unknown) => parentPort!.postMessage({ error: String(error) }),
  );
});
parentPort!.postMessage('ready');
