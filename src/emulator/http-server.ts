import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, incorrectApiKey, invalidRequest, missingApiKey, notFound } from './api-error.js';
import type { FaultControl, HttpFault } from './faults.js';
import { newId } from './ids.js';
import type { StatsRecorder } from './stats.js';

export type Reply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; body: Buffer; contentType: string; headers?: Record<string, string> };

export interface RequestContext {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  readBody(): Promise<Buffer>;
  /** The body parsed as a JSON object; 400 in OpenAI's words otherwise. */
  readJson(): Promise<Record<string, unknown>>;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path pattern with `:name` segments, e.g. `/v1/files/:id/content`. Also the route's stats/fault key. */
  path: string;
  /** The admin route needs neither auth nor is subject to faults. */
  admin?: boolean;
  handler(ctx: RequestContext): Reply | Promise<Reply>;
}

export interface HttpServerDeps {
  routes: Route[];
  apiKey?: string;
  faults: FaultControl;
  stats: StatsRecorder;
  log: (line: string) => void;
  /** Uploads of batch files may reach 200 MB (OpenAI accepts up to 512 MB per file). */
  maxBodyBytes: number;
}

interface CompiledRoute extends Route {
  key: string;
  regex: RegExp;
  names: string[];
}

/** A plain node:http server: no framework, so the emulator starts in milliseconds. */
export function createEmulatorServer(deps: HttpServerDeps): Server {
  const routes = deps.routes.map(compile);
  return createServer((req, res) => {
    handle(req, res, routes, deps).catch((err: unknown) => {
      deps.log(`emulator: unexpected error ${String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/:([a-z_]+)/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, key: `${route.method} ${route.path}`, regex: new RegExp(`^${source}/?$`), names };
}

async function handle(req: IncomingMessage, res: ServerResponse, routes: CompiledRoute[], deps: HttpServerDeps): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? '/', 'http://emulator');
  const method = req.method ?? 'GET';
  let route: CompiledRoute | undefined;
  let params: Record<string, string> = {};
  for (const candidate of routes) {
    const m = candidate.method === method ? candidate.regex.exec(url.pathname) : null;
    if (m) {
      route = candidate;
      params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(m[i + 1])]));
      break;
    }
  }
  deps.stats.request(route?.key ?? 'unmatched');

  let reply: Reply;
  let delayMs = 0;
  try {
    if (!route) throw notFound(`Invalid URL (${method} ${url.pathname})`, null);
    if (!route.admin) {
      checkAuth(req, deps.apiKey);
      delayMs = deps.faults.takeDelayMs(route.key);
      const fault = deps.faults.takeHttp(route.key);
      if (fault) throw injectedError(fault);
    }
    reply = await route.handler(makeContext(req, params, url.searchParams, deps.maxBodyBytes));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    reply = { status: err.status, json: err.toBody(), headers: err.headers };
  }
  // A slow answer is slow on the way back: the work is done (a batch is created
  // even if the client times out first), as when OpenAI's answer is lost.
  if (delayMs > 0) await sleep(delayMs, undefined, { ref: false });
  if (res.destroyed) return; // the client gave up

  const headers: Record<string, string> = {
    'x-request-id': newId('req_'),
    'openai-processing-ms': String(Date.now() - started),
    'openai-version': '2020-10-01',
    ...reply.headers,
  };
  if ('json' in reply) {
    res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.json));
  } else {
    res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType, 'content-length': String(reply.body.length) });
    res.end(reply.body);
  }
  deps.log(`${method} ${url.pathname} -> ${reply.status}`);
}

function checkAuth(req: IncomingMessage, apiKey: string | undefined): void {
  const header = req.headers.authorization ?? '';
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (!token) throw missingApiKey();
  if (apiKey !== undefined && token !== apiKey) throw incorrectApiKey(token);
}

/** The bodies OpenAI sends for these statuses (429 with the headers the SDK honours). */
function injectedError(fault: HttpFault): ApiError {
  switch (fault.status) {
    case 429: {
      const seconds = fault.retryAfterSeconds ?? 1;
      return new ApiError(
        429,
        `Rate limit reached for requests in organization org-emulator on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in ${seconds}s.`,
        'requests',
        null,
        'rate_limit_exceeded',
        {
          'retry-after': String(seconds),
          'x-ratelimit-limit-requests': '60',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': `${seconds}s`,
        },
      );
    }
    case 502:
      return new ApiError(502, 'Bad gateway.', 'server_error', null, null);
    case 503:
      return new ApiError(503, 'The server is overloaded or not ready yet.', 'server_error', null, null);
    default:
      return new ApiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error');
  }
}

function makeContext(req: IncomingMessage, params: Record<string, string>, query: URLSearchParams, maxBodyBytes: number): RequestContext {
  let body: Promise<Buffer> | undefined;
  const readBody = (): Promise<Buffer> => (body ??= collect(req, maxBodyBytes));
  return {
    req,
    params,
    query,
    readBody,
    async readJson() {
      const raw = await readBody();
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw invalidRequest(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        );
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw invalidRequest('The request body must be a JSON object.');
      }
      return parsed as Record<string, unknown>;
    },
  };
}

async function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw new ApiError(413, `Request body exceeds ${maxBytes} bytes.`, 'invalid_request_error');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
