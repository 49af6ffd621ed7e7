import 'reflect-metadata';
import type { INestApplication, LoggerService, Type } from '@nestjs/common';
import { createApp, listenAll, type CreateAppOptions } from '../../src/bootstrap/create-app.js';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnvironment } from '../../src/config/environment.js';
import type { Clock } from '../../src/common/clock.js';
import { canonicalJson } from '../../src/common/json/canonical-json.js';
import { sign } from '../../src/auth/hmac.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { conform, OpenApiContract } from './openapi-conformance.js';

export const TEST_SHARED_KEY = 'test-shared-key-that-is-at-least-32-characters';
/** CLIENT_SECRETS_KEY of every test app: a fixed 32-byte key (base64), so a test may decrypt what another process stored. */
export const TEST_CLIENT_SECRETS_KEY = Buffer.alloc(32, 'test-client-secrets-key/').toString('base64');

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  db: TestDatabase;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Base URL of the management port (detailed health, /metrics). */
  managementUrl: string;
  /** fetch() against the management port. */
  manage(path: string, init?: RequestInit): Promise<Response>;
  /** fetch() against the app; `signWith` adds X-Signature over that message. */
  fetch(path: string, init?: RequestInit & { signWith?: string }): Promise<Response>;
  /** POST /api/v1/generate-descriptions signed like the seed's Python client. */
  postLots(body: { lots: unknown[]; [key: string]: unknown }, init?: RequestInit): Promise<Response>;
  /** GET a job-scoped route signed with the job id. */
  getJob(path: string, jobId: string): Promise<Response>;
  /**
   * Checks an answer the spec got from the app by other means (raw fetch) against the OpenAPI document, as
   * `fetch`, `postLots` and `getJob` do for theirs; throws with route, status and schema errors on a mismatch.
   */
  conform(method: string, path: string, response: Response): Promise<Response>;
  /** The same for an answer already read, e.g. from postOnFreshConnection: `body` is the parsed JSON. */
  conformBody(method: string, path: string, answer: { status: number; body: unknown; contentType?: string }): Promise<void>;
  /** The app's OpenAPI document (from /docs-json), parsed once. */
  contract(): Promise<OpenApiContract>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment variables on top of the test defaults. */
  env?: Record<string, string | undefined>;
  /** Reuse a database (e.g. several app instances = replicas on one database). */
  db?: TestDatabase;
  /** Default: an app that reaches no OpenAI (tests that need one pass OPENAI_BASE_URL). */
  openaiBaseUrl?: string;
  /** Extra Nest modules (e.g. probe controllers) mounted beside the app's own. */
  extraModules?: Type[];
  /** Smaller body limits or parser heaps (see CreateAppOptions). */
  bodyParsing?: CreateAppOptions['bodyParsing'];
  /** Time for the app's `Clock` (e.g. a ManualClock the test advances); default: the system clock. */
  clock?: Clock;
  /** The application's logger (default: the service's own, at TEST_LOG_LEVEL or ERROR); tests that read log lines pass one. */
  logger?: LoggerService;
}

/** Boots the real application (same wiring as main.ts) on a random loopback port against a fresh database. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase());
  const env = parseEnvironment({
    NODE_ENV: 'test',
    SHARED_KEY: TEST_SHARED_KEY,
    CLIENT_SECRETS_KEY: TEST_CLIENT_SECRETS_KEY,
    DATABASE_URL: db.url,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: options.openaiBaseUrl ?? 'http://127.0.0.1:9/v1',
    WORKER_POLL_INTERVAL: '0.2',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
    MANAGEMENT_PORT: '0',
    // Test fixtures date jobs in 2025: the worker's retention purge stays off unless a test turns it on.
    RETENTION_DAYS: '0',
    ...options.env,
  });
  const config = new AppConfig(env, {
    databaseUrl: env.DATABASE_URL!,
    embeddedDatabase: false,
    openaiApiKey: env.OPENAI_API_KEY!,
    openaiBaseUrl: env.OPENAI_BASE_URL,
    offline: false,
    sharedKey: env.SHARED_KEY!,
    sharedKeyGenerated: false,
  });
  const app = await createApp(config, {
    extraModules: options.extraModules,
    bodyParsing: options.bodyParsing,
    clock: options.clock,
    logger: options.logger,
  });
  // Both listeners on free ports; the management port is found from the server itself.
  const ports = await listenAll(app, { port: 0, managementPort: config.managementPort }, '127.0.0.1');
  const url = `http://127.0.0.1:${ports.port}`;
  const managementUrl = `http://127.0.0.1:${ports.managementPort}`;

  // The document the app serves, fetched once; every answer below is checked against it (openapi-conformance.ts).
  // Routes of test modules (probe controllers) are the test's own, not the app's contract.
  const probePaths = (options.extraModules ?? []).flatMap((module) =>
    ((Reflect.getMetadata('controllers', module) as Type[] | undefined) ?? []).map(
      (controller) => '/' + String(Reflect.getMetadata('path', controller) as string).replace(/^\/+/, ''),
    ),
  );
  let contract: Promise<OpenApiContract> | undefined;
  const loadContract = () =>
    (contract ??= fetch(url + '/docs-json').then(
      async (res) => new OpenApiContract((await res.json()) as ConstructorParameters<typeof OpenApiContract>[0], probePaths),
    ));
  const conformResponse = async (method: string, path: string, response: Response) => conform(await loadContract(), method, path, response);

  const doFetch: TestApp['fetch'] = async (path, init = {}) => {
    const { signWith, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (signWith !== undefined) headers.set('X-Signature', sign(TEST_SHARED_KEY, signWith));
    const response = await fetch(url + path, { ...rest, headers });
    return conformResponse(rest.method ?? 'GET', path, response);
  };
  return {
    app,
    config,
    db,
    url,
    managementUrl,
    manage: (path, init) => fetch(managementUrl + path, init),
    fetch: doFetch,
    postLots: (body, init = {}) =>
      doFetch('/api/v1/generate-descriptions', {
        method: 'POST',
        ...init,
        headers: { 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) },
        body: JSON.stringify(body),
        signWith: canonicalJson(body.lots),
      }),
    getJob: (path, jobId) => doFetch(path, { signWith: jobId }),
    conform: conformResponse,
    async conformBody(method, path, answer) {
      const check = (await loadContract()).check(method, path, answer.status, answer.contentType ?? 'application/json');
      check?.(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    },
    contract: loadContract,
    async close() {
      await app.close();
      if (!options.db) await db.drop();
    },
  };
}

/** The JSON body of a response, untyped: tests assert its shape themselves. */
export const json = (response: Response): Promise<any> => response.json() as Promise<any>;

/**
 * POST on a connection of its own (never a pooled keep-alive socket). For
 * bodies that take seconds to build: by then fetch's pooled socket may be
 * at the server's keep-alive timeout, and the server closing it as the
 * upload starts reads as ECONNRESET — a race in the test, not the service.
 */
export async function postOnFreshConnection(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text });
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
