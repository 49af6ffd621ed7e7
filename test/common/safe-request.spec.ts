import { createHash } from 'node:crypto';
import { request } from 'undici';
import { OutboundHttpError, SsrfBlockedError } from '../../src/common/http/outbound-errors.js';
import { createSafeDispatcher } from '../../src/common/http/safe-dispatcher.js';
import { OutboundHttp } from '../../src/common/http/safe-http-client.js';
import { closedPort, startLoopbackServer, type LoopbackServer } from './loopback-server.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(92, 7)]);

let server: LoopbackServer;
const open = new OutboundHttp({ allowPrivateNetworks: true });
const guarded = new OutboundHttp({ allowPrivateNetworks: false });

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    switch (req.path) {
      case '/echo':
        res.writeHead(201, { 'content-type': 'text/plain', 'x-seen-ua': String(req.headers['user-agent']) });
        res.end(`got ${req.body.length} bytes`);
        return;
      case '/auth':
        res.writeHead(200);
        res.end(String(req.headers.authorization));
        return;
      case '/large':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(50_000));
        return;
      case '/redirect':
        res.writeHead(302, { location: '/target' });
        res.end();
        return;
      case '/slow':
        setTimeout(() => res.end('late'), 2_000).unref();
        return;
      case '/image.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(PNG);
        return;
      case '/big.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end(Buffer.alloc(200_000, 1));
        return;
      case '/page.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html></html>');
        return;
      case '/empty.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end('no');
    }
  });
});
afterAll(async () => {
  await Promise.all([open.close(), guarded.close()]);
  await server.close();
});

describe('safeRequest', () => {
  test('sends the body and our User-Agent, returns status, headers and a bounded excerpt', async () => {
    const response = await open.request(`${server.url}/echo`, { method: 'POST', body: 'hello', timeoutMs: 2_000 });
    expect(response.status).toBe(201);
    expect(response.body.toString()).toBe('got 5 bytes');
    expect(response.headers['x-seen-ua']).toBe('Generation-Service/2.0');

    const large = await open.request(`${server.url}/large`, { timeoutMs: 2_000, maxBytes: 100 });
    expect(large.body.length).toBe(100);
    expect(large.truncated).toBe(true);
  });

  test('credentials in the URL travel as Basic auth and are masked in errors', async () => {
    const response = await open.request(`http://hook%40user:s3cr%3At@127.0.0.1:${server.port}/auth`, { timeoutMs: 2_000 });
    expect(response.body.toString()).toBe(`Basic ${Buffer.from('hook@user:s3cr:t').toString('base64')}`);

    const refused = await guarded
      .request(`http://user:s3cret@127.0.0.1:${server.port}/auth`, { timeoutMs: 2_000 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SsrfBlockedError);
    expect((refused as Error).message).not.toContain('s3cret');
    expect((refused as SsrfBlockedError).url).toBe(`http://user:***@127.0.0.1:${server.port}/auth`);
  });

  test('never follows a redirect: the 302 is the answer and the target receives nothing', async () => {
    const response = await open.request(`${server.url}/redirect`, { timeoutMs: 2_000 });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/target');
    expect(server.to('/target')).toHaveLength(0);
  });

  test('a slow answer is a timeout, a closed port a network error; both retryable', async () => {
    const slow = await open.request(`${server.url}/slow`, { timeoutMs: 200 }).catch((error: unknown) => error);
    expect(slow).toBeInstanceOf(OutboundHttpError);
    expect((slow as OutboundHttpError).kind).toBe('timeout');
    expect((slow as OutboundHttpError).permanent).toBe(false);

    const port = await closedPort();
    const refused = await open.request(`http://127.0.0.1:${port}/`, { timeoutMs: 2_000 }).catch((error: unknown) => error);
    expect((refused as OutboundHttpError).kind).toBe('network');
    expect((refused as OutboundHttpError).message).toContain('ECONNREFUSED');
  });

  test('loopback IP literals are refused before any connection when private networks are not allowed', async () => {
    const before = server.requests.length;
    const error = await guarded.request(`${server.url}/echo`, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SsrfBlockedError);
    expect((error as SsrfBlockedError).reason).toContain('loopback');
    expect(server.requests.length).toBe(before);
  });

  test('a host NAME resolving to loopback is refused at connect time, on the resolved address', async () => {
    const before = server.requests.length;
    const error = await guarded.request(`http://localhost:${server.port}/echo`, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SsrfBlockedError);
    const blocked = error as SsrfBlockedError;
    expect(blocked.reason).toContain('loopback');
    expect(['127.0.0.1', '::1']).toContain(blocked.address);
    expect(blocked.url).toBe(`http://localhost:${server.port}/echo`);
    expect(server.requests.length).toBe(before);
  });

  test('the dispatcher alone enforces the policy (no pre-check): names and literals', async () => {
    const dispatcher = createSafeDispatcher({ allowPrivateNetworks: false });
    try {
      for (const url of [
        `http://localhost:${server.port}/echo`,
        `http://127.0.0.1:${server.port}/echo`,
        `http://[::ffff:127.0.0.1]:${server.port}/echo`,
      ]) {
        const error = await request(url, { dispatcher }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SsrfBlockedError);
      }
      expect(server.to('/echo').length).toBe(1); // only the allowed request of the first test
    } finally {
      await dispatcher.close();
    }
  });
});

describe('probeImage', () => {
  const options = { timeoutMs: 500, maxBytes: 100_000 };

  test('accepts a 2xx image within the size limit', async () => {
    expect(await open.probeImage(`${server.url}/image.png`, options)).toEqual({
      ok: true,
      contentType: 'image/png',
      bytes: PNG.length,
      sha256: createHash('sha256').update(PNG).digest('hex'),
    });
  });

  test.each([
    ['/big.jpg', 'larger than 100000 bytes'],
    ['/page.html', 'content-type "text/html" is not an image'],
    ['/missing.png', 'HTTP 404'],
    ['/redirect', 'HTTP 302 (redirect to /target not followed)'],
    ['/empty.png', 'empty image body'],
    ['/slow', 'within 500 ms'],
  ])('%s is refused: %s', async (path, reason) => {
    const probe = await open.probeImage(`${server.url}${path}`, options);
    expect(probe.ok).toBe(false);
    expect(probe.ok ? '' : probe.reason).toContain(reason);
  });

  test('private targets are refused with the SSRF reason when not allowed', async () => {
    const probe = await guarded.probeImage(`${server.url}/image.png`, options);
    expect(probe).toEqual({ ok: false, reason: expect.stringContaining('loopback') });
    const metadata = await guarded.probeImage('http://169.254.169.254/latest/meta-data/', options);
    expect(metadata).toEqual({ ok: false, reason: expect.stringContaining('link-local') });
  });
});
