/**
 * A separate thread (own event loop, same process) that loads the server:
 * the server's event loop is then not shared with the load generator.
 * Commands arrive by message; each answers with one message, except
 * `latency`, which answers once warmed up and again once told to `stop`.
 */
import { parentPort } from 'node:worker_threads';
import { Pool } from 'undici';
import { signRequest } from '../src/auth/http-signatures/index.js';
import { percentile } from './measure.js';

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
  | {
      /** Polls in a closed loop, recording each request's latency, until `stop`. */
      mode: 'latency';
      origin: string;
      path: string;
      headers: Record<string, string>;
      connections: number;
      warmupMs: number;
    }
  | { mode: 'stop' }
  | { mode: 'download'; url: string; headers: Record<string, string> };

export type LoadAnswer =
  | { mode: 'status'; ok: number; failed: number; elapsedMs: number }
  | { mode: 'latency-started' }
  | { mode: 'latency'; requests: number; failed: number; p50Ms: number; p99Ms: number; maxMs: number; elapsedMs: number }
  | { mode: 'download'; status: number; bytes: number; elapsedMs: number; tail: string; contentDisposition: string | null };

type Load = Extract<LoadCommand, { mode: 'status' | 'latency' }>;

/** Signed v2 requests prepared before a measurement: enough for ~8,000 req/s over a warm-up and a 5 s window. */
const PRESIGNED = 50_000;

/**
 * The headers of each request. v2: every request has its own nonce and signature, made before the timed window
 * (each `created` stays valid for 300 s) — real clients sign on their own machines, and signing here, on the cores
 * the server shares, would charge the client's HMACs to the server; past the prepared ones, signed on the fly.
 */
function headersFor(command: Load): () => Record<string, string> {
  const v2 = command.mode === 'status' ? command.v2 : undefined;
  if (!v2) return () => command.headers;
  const key = Buffer.from(v2.secret, 'base64');
  const signOne = () => {
    const signed = signRequest({ method: 'GET', url: command.path }, { keyId: v2.keyId, algorithm: 'hmac-sha256', key });
    return { ...command.headers, 'signature-input': signed['signature-input'], signature: signed.signature };
  };
  const prepared = Array.from({ length: PRESIGNED }, signOne);
  let next = 0;
  return () => (next < prepared.length ? prepared[next++] : signOne());
}

/** `command.connections` closed loops of GET requests until `done()`; each latency pushed to `latencies` if given. */
async function hammer(pool: Pool, command: Load, headers: () => Record<string, string>, done: () => boolean, latencies?: number[]) {
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: command.connections }, async () => {
      while (!done()) {
        const sent = performance.now();
        const res = await pool.request({ path: command.path, method: 'GET', headers: headers() });
        await res.body.text();
        latencies?.push(performance.now() - sent);
        if (res.statusCode === 200) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed, elapsedMs: performance.now() - started };
}

const forMs = (durationMs: number) => {
  const end = performance.now() + durationMs;
  return () => performance.now() >= end;
};

async function status(command: Extract<LoadCommand, { mode: 'status' }>): Promise<LoadAnswer> {
  const pool = new Pool(command.origin, { connections: command.connections, pipelining: 1 });
  try {
    const headers = headersFor(command); // before the clock starts: v2 requests are signed in advance
    await hammer(pool, command, headers, forMs(command.warmupMs));
    return { mode: 'status', ...(await hammer(pool, command, headers, forMs(command.durationMs))) };
  } finally {
    await pool.close();
  }
}

let stopped = false;

async function latency(command: Extract<LoadCommand, { mode: 'latency' }>): Promise<LoadAnswer> {
  const pool = new Pool(command.origin, { connections: command.connections, pipelining: 1 });
  try {
    const headers = headersFor(command);
    await hammer(pool, command, headers, forMs(command.warmupMs)); // connections open, code warm
    stopped = false;
    parentPort!.postMessage({ mode: 'latency-started' } satisfies LoadAnswer);
    const latencies: number[] = [];
    const { ok, failed, elapsedMs } = await hammer(pool, command, headers, () => stopped, latencies);
    latencies.sort((a, b) => a - b);
    return {
      mode: 'latency',
      requests: ok + failed,
      failed,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? 0,
      elapsedMs,
    };
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
  if (command.mode === 'stop') {
    stopped = true; // the running `latency` answers
    return;
  }
  const run = command.mode === 'status' ? status(command) : command.mode === 'latency' ? latency(command) : download(command);
  run.then(
    (answer) => parentPort!.postMessage(answer),
    (error: unknown) => parentPort!.postMessage({ error: String(error) }),
  );
});
parentPort!.postMessage('ready');
