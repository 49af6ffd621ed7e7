import { Body, Controller, Get, Module, Param, Post, Query } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { Public, Signed } from '../../src/auth/signed.decorator.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp, json } from '../support/app.js';

/** Probe routes with each signing policy; they echo what reached them. */
@Controller('probe')
class ProbeController {
  @Post('lots') @Signed('lots') lots(@Body() body: unknown) {
    return { ok: true, body };
  }
  @Get('jobs/:job_id') @Signed('job_id') job(@Param('job_id') id: string) {
    return { ok: true, id };
  }
  @Get('list') @Signed('query') list(@Query() query: unknown) {
    return { ok: true, query };
  }
  @Get('open') @Public() open() {
    return { ok: true };
  }
  @Get('forgotten') forgotten() {
    return { ok: true, leaked: 'secret' };
  }
}
@Module({ controllers: [ProbeController] })
class ProbeModule {}

interface Vector {
  name: string;
  body: string;
  canonical: string;
  signature: string;
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/hmac-vectors.json', import.meta.url), 'utf8')) as {
  key: string;
  vectors: Vector[];
  js_snippet_bug: { lots_body: string; signature: string };
};
const signWith = (key: string, message: string) => 'sha256=' + createHmac('sha256', key).update(message).digest('hex');

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { SHARED_KEY: golden.key }, extraModules: [ProbeModule] });
});
afterAll(() => t.close());

const post = (body: string, headers: Record<string, string> = {}) =>
  t.fetch('/probe/lots', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

describe('body requests sign the canonical lots (golden vectors from python3)', () => {
  test.each(golden.vectors.map((v) => [v.name, v] as const))('%s: X-Signature header accepted', async (_name, vector) => {
    const res = await post(vector.body, { 'X-Signature': vector.signature });
    expect(res.status).toBe(201);
  });

  test('signature in the body field `signature` is accepted', async () => {
    const vector = golden.vectors[1];
    const body = JSON.stringify({ signature: vector.signature, ...JSON.parse(vector.body) });
    expect((await post(body)).status).toBe(201);
  });

  test('the signature does not depend on how the client formatted its JSON', async () => {
    const vector = golden.vectors[6];
    const reformatted = JSON.stringify(JSON.parse(vector.body), null, 4);
    expect((await post(reformatted, { 'X-Signature': vector.signature })).status).toBe(201);
  });

  test('changing any byte of the lots invalidates the signature', async () => {
    const vector = golden.vectors[0];
    const tampered = vector.body.replace('lot-1', 'lot-2');
    const res = await post(tampered, { 'X-Signature': vector.signature });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: 'Authentication failed', message: 'Invalid HMAC signature', code: 'INVALID_SIGNATURE' });
  });

  test('the JS snippet of reference 002 signs "[{},{}]": refused', async () => {
    const res = await post(golden.js_snippet_bug.lots_body, { 'X-Signature': golden.js_snippet_bug.signature });
    expect(res.status).toBe(403);
  });
});

describe('refusals', () => {
  test('missing signature → 401 MISSING_SIGNATURE', async () => {
    const res = await post(golden.vectors[0].body);
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ code: 'MISSING_SIGNATURE', error: 'Authentication required' });
  });

  test.each([
    ['not a signature', 'hello'],
    ['no prefix', 'a'.repeat(64)],
    ['wrong algorithm', 'md5=' + 'a'.repeat(32)],
    ['too short', 'sha256=abc'],
    ['non-hex', 'sha256=' + 'g'.repeat(64)],
    ['unicode junk', 'sha256=' + 'é'.repeat(64)],
  ])('malformed header (%s) → 403, never 500', async (_name, header) => {
    const res = await t.fetch('/probe/jobs/abc', { headers: { 'X-Signature': encodeURI(header) } });
    expect(res.status).toBe(403);
    expect((await json(res)).code).toBe('INVALID_SIGNATURE');
  });

  test('a signature made with another key → 403', async () => {
    const res = await t.fetch('/probe/jobs/abc', { headers: { 'X-Signature': signWith(TEST_SHARED_KEY, 'abc') } });
    expect(res.status).toBe(403);
  });

  test('a route without a signing policy is refused (deny by default)', async () => {
    const res = await t.fetch('/probe/forgotten', { headers: { 'X-Signature': signWith(golden.key, '') } });
    expect(res.status).toBe(403);
    expect(JSON.stringify(await json(res))).not.toContain('secret');
  });
});

describe('job and query scoped requests', () => {
  test('job-scoped requests sign the job_id', async () => {
    const ok = await t.fetch('/probe/jobs/550e8400-e29b-41d4-a716-446655440000', {
      headers: { 'X-Signature': signWith(golden.key, '550e8400-e29b-41d4-a716-446655440000') },
    });
    expect(ok.status).toBe(200);
    const other = await t.fetch('/probe/jobs/another', {
      headers: { 'X-Signature': signWith(golden.key, '550e8400-e29b-41d4-a716-446655440000') },
    });
    expect(other.status).toBe(403);
  });

  test('a poll signed like the last one is accepted again; a remembered success admits nothing else', async () => {
    const jobId = '6f1c2d3e-4b5a-4c6d-8e7f-901234567890';
    const good = signWith(golden.key, jobId);
    const poll = (path: string, signature: string) => t.fetch(path, { headers: { 'X-Signature': signature } });
    for (let i = 0; i < 3; i++) expect((await poll(`/probe/jobs/${jobId}`, good)).status).toBe(200);
    // The same signature on another job, another key's signature on this job, a mangled one: each refused.
    expect((await poll('/probe/jobs/6f1c2d3e-4b5a-4c6d-8e7f-000000000000', good)).status).toBe(403);
    expect((await poll(`/probe/jobs/${jobId}`, signWith(TEST_SHARED_KEY, jobId))).status).toBe(403);
    expect((await poll(`/probe/jobs/${jobId}`, good.slice(0, -1) + (good.endsWith('0') ? '1' : '0'))).status).toBe(403);
    // Upper-case hex is the same signature (verified once more, then remembered as sent).
    expect((await poll(`/probe/jobs/${jobId}`, 'sha256=' + good.slice('sha256='.length).toUpperCase())).status).toBe(200);
  });

  test('list requests sign the raw query string, or the empty string', async () => {
    const query = 'status=processing&limit=20';
    expect((await t.fetch(`/probe/list?${query}`, { headers: { 'X-Signature': signWith(golden.key, query) } })).status).toBe(200);
    expect((await t.fetch('/probe/list', { headers: { 'X-Signature': signWith(golden.key, '') } })).status).toBe(200);
    const reordered = await t.fetch('/probe/list?limit=20&status=processing', { headers: { 'X-Signature': signWith(golden.key, query) } });
    expect(reordered.status).toBe(403);
  });

  test('public routes need no signature', async () => {
    expect((await t.fetch('/probe/open')).status).toBe(200);
  });
});
