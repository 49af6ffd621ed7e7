import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy between the gateway and the emulator, for what only
 * the wire can show: how many requests were in flight at once, every request
 * exactly as it was sent (the conformance spec validates them), and a
 * response that is lost after the emulator acted on the request (the
 * connection is cut once the upstream answer is in).
 */
export interface CapturedRequest {
  method: string;
  /** Path without the query, e.g. `/v1/responses`. */
  path: string;
  contentType: string;
  body: Buffer;
  /** The upstream answer's status and body. */
  status: number;
  response: Buffer;
}

export interface LoopbackProxy {
  /** Base URL with `/v1`, for OPENAI_BASE_URL. */
  url: string;
  maxInFlight(): number;
  /** Every request forwarded so far, in arrival order of their answers. */
  captured(): CapturedRequest[];
  /** The next request matching `METHOD /path` is forwarded, then its connection is destroyed. */
  loseNextResponse(routeKey: string): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'content-encoding']);

export async function startLoopbackProxy(targetBase: string): Promise<LoopbackProxy> {
  const target = new URL(targetBase);
  let inFlight = 0;
  let max = 0;
  const toLose: string[] = [];
  const log: CapturedRequest[] = [];

  const server = createServer((req, res) => {
    inFlight++;
    max = Math.max(max, inFlight);
    forward(req)
      .then(({ status, headers, body, sent }) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        log.push({
          method: req.method ?? '',
          path,
          contentType: String(req.headers['content-type'] ?? ''),
          body: sent,
          status,
          response: body,
        });
        const key = `${req.method} ${path}`;
        const lose = toLose.indexOf(key);
        if (lose >= 0) {
          toLose.splice(lose, 1);
          req.socket.destroy();
          return;
        }
        res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
      })
      .catch(() => req.socket.destroy())
      .finally(() => inFlight--);
  });

  async function forward(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer; sent: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const sent = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(`${target.origin}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : sent,
    });
    const out: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name)) out[name] = value;
    });
    return { status: upstream.status, headers: out, body: Buffer.from(await upstream.arrayBuffer()), sent };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    maxInFlight: () => max,
    captured: () => [...log],
    loseNextResponse: (routeKey) => void toLose.push(routeKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
