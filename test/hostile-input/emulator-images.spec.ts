import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { EMULATOR_USER_AGENT, MAX_IMAGE_REDIRECTS } from '../../src/emulator/image-fetcher.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';

/*
 * Issue 8 §8: the emulator downloads images like OpenAI does, through the
 * service's SSRF-safe client (src/common/http). Redirects are followed one hop
 * at a time and every hop is checked: a loopback image host the emulator is
 * configured to reach cannot bounce the download to a metadata service, a
 * private network or a non-http scheme.
 */

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let host: LoopbackServer;
let emu: RunningEmulator;

beforeAll(async () => {
  host = await startLoopbackServer((request, response) => {
    const redirect = /^\/to\?(.*)$/.exec(request.path);
    if (redirect) return void response.writeHead(302, { location: decodeURIComponent(redirect[1]) }).end();
    if (request.path === '/loop') return void response.writeHead(307, { location: '/loop' }).end();
    if (request.path.startsWith('/img/')) return void response.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    response.writeHead(404).end();
  });
  emu = await startEmulator({ port: 0, apiKey: 'sk-e', imageFetchTimeoutMs: 2000 });
});
afterAll(async () => {
  await emu?.close();
  await host?.close();
});

async function vision(target: RunningEmulator, imageUrl: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${target.url}/responses`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-e', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4.1-mini',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Additional information: door' },
            { type: 'input_image', image_url: imageUrl },
          ],
        },
      ],
    }),
  });
  return { status: res.status, body: await res.json() };
}

const downloadError = (url: string) => ({
  error: { message: `Error while downloading ${url}.`, type: 'invalid_request_error', param: 'url', code: 'invalid_value' },
});
const to = (target: string) => `${host.url}/to?${encodeURIComponent(target)}`;

test('a loopback image host is reached when allowed, and a redirect within it is followed', async () => {
  expect((await vision(emu, `${host.url}/img/a.png`)).status).toBe(200);
  const before = host.requests.length;
  expect((await vision(emu, to(`${host.url}/img/b.png`))).status).toBe(200);
  expect(host.requests.slice(before).map((r) => r.path)).toEqual([`/to?${encodeURIComponent(`${host.url}/img/b.png`)}`, '/img/b.png']);
  // Its own User-Agent, so image hosts and tests tell OpenAI's downloads from the service's image checks.
  expect(host.requests.slice(before).map((r) => r.headers['user-agent'])).toEqual([EMULATOR_USER_AGENT, EMULATOR_USER_AGENT]);
});

test.each([
  ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
  ['a metadata host name', 'http://metadata.google.internal/computeMetadata/v1/'],
  ['a private network (RFC 1918)', 'http://10.0.0.1/img/x.png'],
  ['a unique-local IPv6 address', 'http://[fd00::1]/img/x.png'],
  ['a file URL', 'file:///etc/passwd'],
])('a redirect to %s is refused at that hop: 400 download error, nothing fetched there', async (_name, target) => {
  const started = Date.now();
  const { status, body } = await vision(emu, to(target));
  expect(status).toBe(400);
  expect(body).toEqual(downloadError(to(target)));
  expect(Date.now() - started).toBeLessThan(1500); // refused before any connection, not timed out
});

test(`a redirect loop stops after ${MAX_IMAGE_REDIRECTS} redirects`, async () => {
  const before = host.requests.length;
  const { status, body } = await vision(emu, `${host.url}/loop`);
  expect(status).toBe(400);
  expect(body).toEqual(downloadError(`${host.url}/loop`));
  expect(host.requests.length - before).toBe(MAX_IMAGE_REDIRECTS + 1);
});

test('an emulator not allowed loopback refuses a loopback image without contacting it; the emulator keeps answering', async () => {
  const strict = await startEmulator({ port: 0, apiKey: 'sk-e', imageNetwork: { allowPrivateNetworks: false, allowLoopback: false } });
  try {
    const before = host.requests.length;
    const { status, body } = await vision(strict, `${host.url}/img/c.png`);
    expect(status).toBe(400);
    expect(body).toEqual(downloadError(`${host.url}/img/c.png`));
    expect(host.requests.length).toBe(before);
    const localhost = `http://localhost:${host.port}/img/c.png`; // a name resolving to loopback, checked at connect time
    expect((await vision(strict, localhost)).body).toEqual(downloadError(localhost));
    expect(host.requests.length).toBe(before);
    const dataUrl = `data:image/png;base64,${PNG.toString('base64')}`;
    expect((await vision(strict, dataUrl)).status).toBe(200);
  } finally {
    await strict.close();
  }
});
