import { connect, type Socket } from 'node:net';
import { ConfigError, parseEnvironment } from '../../src/config/environment.js';
import { countRows, lots } from '../jobs/jobs-support.js';
import { json, startTestApp, type TestApp } from '../support/app.js';

/*
 * Issue 8 §7: security headers on every answer, no caching of API answers,
 * 405 with Allow for a known path and a wrong method, an explicit CORS policy,
 * and server timeouts that close slow clients instead of holding them.
 */

const JOB = '550e8400-e29b-41d4-a716-446655440000';

function expectSecurityHeaders(res: Response, what: string): void {
  const headers = Object.fromEntries(
    ['x-content-type-options', 'x-frame-options', 'referrer-policy'].map((name) => [name, res.headers.get(name)]),
  );
  expect([what, headers]).toEqual([
    what,
    { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' },
  ]);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect([what, csp]).toEqual([what, expect.stringContaining("script-src 'self';")]);
  expect([what, csp]).toEqual([what, expect.stringContaining("frame-ancestors 'none'")]);
  expect([what, csp]).toEqual([what, expect.stringContaining("object-src 'none'")]);
}

function expectErrorShape(body: Record<string, unknown>, code: string): void {
  expect(
    Object.keys(body)
      .filter((key) => key !== 'details')
      .sort(),
  ).toEqual(['code', 'error', 'message']);
  expect(body.code).toBe(code);
}

describe('headers, 405 and CORS (default: no cross-origin access)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { APP_ROLE: 'api' } });
  });
  afterAll(() => t?.close());

  test('every answer carries the security headers; API answers are never cached', async () => {
    const answers: [string, Response][] = [
      ['live', await t.fetch('/health/live')],
      ['401', await t.fetch(`/api/v1/batch-status/${JOB}`)],
      ['404 job', await t.fetch(`/api/v1/batch-status/${JOB}`, { signWith: JOB })],
      ['404 route', await t.fetch('/nowhere')],
      ['405', await t.fetch('/health', { method: 'DELETE' })],
      ['list', await t.fetch('/api/v1/batch-jobs', { signWith: '' })],
      ['docs', await t.fetch('/docs')],
      ['docs-json', await t.fetch('/docs-json')],
    ];
    expect(answers.map(([what, res]) => [what, res.status])).toEqual([
      ['live', 200],
      ['401', 401],
      ['404 job', 404],
      ['404 route', 404],
      ['405', 405],
      ['list', 200],
      ['docs', 200],
      ['docs-json', 200],
    ]);
    for (const [what, res] of answers) {
      expectSecurityHeaders(res, what);
      expect([what, res.headers.get('cache-control')]).toEqual([what, 'no-store']);
      expect([what, res.headers.get('x-powered-by')]).toEqual([what, null]);
    }
  });

  test('Swagger UI works under the CSP: no inline script, every script a same-origin file that is served', async () => {
    const page = await t.fetch('/docs');
    const html = await page.text();
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-eval'/);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const [, attributes, content] of scripts) {
      expect(content.trim()).toBe(''); // an inline script would be blocked by script-src 'self'
      const src = /src=["']([^"']+)["']/.exec(attributes)?.[1];
      expect(src).toBeDefined();
      const url = new URL(src!, `${t.url}/docs`); // resolved as the browser does, against the page URL
      expect(url.origin).toBe(t.url); // 'self'
      const res = await t.fetch(url.pathname);
      expect([url.pathname, res.status, res.headers.get('content-type')]).toEqual([url.pathname, 200, expect.stringMatching(/javascript/)]);
    }
    expect(html).toContain('/docs/swagger-signing.js');
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers either (script-src-attr 'none')
  });

  test.each([
    ['POST', `/api/v1/batch-status/${JOB}`, 'GET, HEAD'],
    ['DELETE', '/api/v1/generate-descriptions', 'POST'],
    ['GET', '/api/v1/generate-descriptions', 'POST'],
    ['PUT', `/api/v1/batch-jobs/${JOB}/cancel`, 'POST'],
    ['PATCH', '/api/v1/batch-jobs', 'GET, HEAD'],
    ['POST', '/health/live', 'GET, HEAD'],
  ])('%s %s → 405 with Allow: %s, in the error shape, nothing stored', async (method, path, allow) => {
    const res = await t.fetch(path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'GET' ? undefined : JSON.stringify({ lots: lots(2) }),
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    const body = await json(res);
    expectErrorShape(body, 'METHOD_NOT_ALLOWED');
    expect(body).toEqual({
      error: 'Method not allowed',
      message: `${method} is not allowed on ${path}; allowed: ${allow}`,
      code: 'METHOD_NOT_ALLOWED',
    });
    expect(await countRows(t.db)).toEqual({ jobs: 0, lots: 0 });
  });

  test('an unknown path stays 404; HEAD is served where GET is', async () => {
    const unknown = await t.fetch('/api/v1/nothing-here', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expectErrorShape(await json(unknown), 'NOT_FOUND');
    expect((await t.fetch('/health/live', { method: 'HEAD' })).status).toBe(200);
  });

  test('no CORS_ORIGINS: a preflight is answered 204 without Access-Control-Allow-Origin; so is a cross-origin GET', async () => {
    const preflight = await t.fetch('/api/v1/generate-descriptions', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-signature',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('vary')).toMatch(/Origin/);
    const get = await t.fetch('/health/live', { headers: { origin: 'https://evil.example' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    expect((await t.fetch('/health/live')).status).toBe(200);
  });
});

describe('CORS_ORIGINS lists the browser origins allowed', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { APP_ROLE: 'api', CORS_ORIGINS: 'https://app.example.com, https://admin.example.com:8443' } });
  });
  afterAll(() => t?.close());

  const preflight = (origin: string) =>
    t.fetch('/api/v1/generate-descriptions', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-signature' },
    });

  test('an allowed origin gets its origin, the methods and the headers (X-Signature, Content-Type) back', async () => {
    for (const origin of ['https://app.example.com', 'https://admin.example.com:8443']) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,POST');
      expect(res.headers.get('access-control-allow-headers')).toBe(
        'Content-Type,X-Signature,X-Key-Id,Signature-Input,Signature,Content-Digest,Content-Encoding,Idempotency-Key,X-Request-Id,traceparent,tracestate',
      );
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/Origin/);
    }
    const get = await t.fetch(`/api/v1/batch-status/${JOB}`, { signWith: JOB, headers: { origin: 'https://app.example.com' } });
    expect(get.status).toBe(404);
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(get.headers.get('access-control-expose-headers')).toBe(
      'Retry-After,Content-Disposition,RateLimit-Policy,RateLimit,Idempotent-Replayed,Accept-Signature,X-Request-Id',
    );
  });

  test('any other origin — a look-alike, another scheme or port, null — gets no Access-Control-Allow-Origin', async () => {
    for (const origin of ['https://app.example.com.evil.example', 'http://app.example.com', 'https://admin.example.com', 'null']) {
      const res = await preflight(origin);
      expect([origin, res.status, res.headers.get('access-control-allow-origin')]).toEqual([origin, 204, null]);
      const get = await t.fetch('/health/live', { headers: { origin } });
      expect([origin, get.headers.get('access-control-allow-origin')]).toEqual([origin, null]);
    }
  });

  test('CORS_ORIGINS accepts origins only', () => {
    const problems = (value: string) => {
      try {
        parseEnvironment({ CORS_ORIGINS: value });
        return '';
      } catch (error) {
        if (error instanceof ConfigError) return error.problems.join('\n');
        throw error;
      }
    };
    for (const bad of ['*', 'https://app.example.com/path', 'app.example.com', 'https://*.example.com', 'ftp://x.example']) {
      expect([bad, problems(bad)]).toEqual([bad, expect.stringContaining('CORS_ORIGINS must list origins')]);
    }
    expect(parseEnvironment({ CORS_ORIGINS: ' https://a.example , http://localhost:3000 ' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
    expect(parseEnvironment({}).CORS_ORIGINS).toEqual([]);
  });
});

describe('server timeouts', () => {
  let t: TestApp;
  const port = () => Number(new URL(t.url).port);
  beforeAll(async () => {
    // Small bounds for the test; the defaults (120 s / 20 s / 5 s) are sized for a 100 MB upload.
    t = await startTestApp({
      env: { APP_ROLE: 'api', HTTP_REQUEST_TIMEOUT: '1', HTTP_HEADERS_TIMEOUT: '1', HTTP_KEEP_ALIVE_TIMEOUT: '0.5' },
    });
  });
  afterAll(() => t?.close());

  /** Opens a raw connection; resolves when it is closed by the server, with what it received and when. */
  function rawClient(): { socket: Socket; opened: number; closed: Promise<{ afterMs: number; received: string }> } {
    const socket = connect(port(), '127.0.0.1');
    const opened = Date.now();
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const closed = new Promise<{ afterMs: number; received: string }>((resolve) =>
      socket.on('close', () => resolve({ afterMs: Date.now() - opened, received })),
    );
    socket.on('error', () => undefined);
    return { socket, opened, closed };
  }

  test('slow body (slowloris): headers sent, the body trickled — 408 and closed within HTTP_REQUEST_TIMEOUT, nothing stored', async () => {
    const { socket, closed } = rawClient();
    socket.write(
      `POST /api/v1/generate-descriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nX-Signature: sha256=${'0'.repeat(64)}\r\n\r\n{"lots":[`,
    );
    const trickle = setInterval(() => socket.writable && socket.write(' '), 100);
    const { afterMs, received } = await closed.finally(() => clearInterval(trickle));
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(900); // not before the bound...
    expect(afterMs).toBeLessThan(1000 + 250 + 1000); // ...and within it (+ the 250 ms check interval, + scheduling slack)
    expect(await countRows(t.db)).toEqual({ jobs: 0, lots: 0 });
    expect((await t.fetch('/health/live')).status).toBe(200);
  });

  test('slow headers: closed within HTTP_HEADERS_TIMEOUT', async () => {
    const { socket, closed } = rawClient();
    socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: a\r\n'), 100);
    const { afterMs, received } = await closed.finally(() => clearInterval(trickle));
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeLessThan(1000 + 250 + 1000);
    expect((await t.fetch('/health/live')).status).toBe(200);
  });

  test('an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT; a prompt request is served normally', async () => {
    const { socket, closed } = rawClient();
    socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const { afterMs, received } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(afterMs).toBeGreaterThanOrEqual(450);
    expect(afterMs).toBeLessThan(500 + 1500);
  });
});
