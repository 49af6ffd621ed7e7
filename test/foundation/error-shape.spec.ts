import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { Public } from '../../src/auth/signed.decorator.js';
import { MAX_BODY_BYTES } from '../../src/bootstrap/create-app.js';
import { postOnFreshConnection, startTestApp, type TestApp, json } from '../support/app.js';

class ProbeDto {
  @IsString() name: string;
  @IsInt() @Min(1) @Max(10) count: number;
}

@Public()
@Controller('probe')
class ProbeController {
  @Post('dto') dto(@Body() body: ProbeDto) {
    return { ok: true, body };
  }
  @Get('crash') crash(): never {
    throw new Error('database password is hunter2 at /srv/app.ts:12');
  }
}
@Module({ controllers: [ProbeController] })
class ProbeModule {}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ extraModules: [ProbeModule] });
});
afterAll(() => t.close());

const postRaw = (path: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
  t.fetch(path, { method: 'POST', headers, body });

function expectShape(body: Record<string, unknown>) {
  expect(Object.keys(body).sort()).toEqual(expect.arrayContaining(['code', 'error', 'message']));
  for (const key of Object.keys(body)) expect(['error', 'message', 'code', 'details']).toContain(key);
  expect(typeof body.error).toBe('string');
  expect(typeof body.message).toBe('string');
  expect(typeof body.code).toBe('string');
}

test("Nest's own 404 uses the documented shape", async () => {
  const res = await t.fetch('/api/v1/does-not-exist');
  expect(res.status).toBe(404);
  expect(await json(res)).toEqual({ error: 'Not found', message: 'No route for GET /api/v1/does-not-exist', code: 'NOT_FOUND' });
});

test('malformed JSON → 400 INVALID_JSON (reference 002 example, byte for byte)', async () => {
  const res = await postRaw('/probe/dto', '{"name": "x", ');
  expect(res.status).toBe(400);
  expect(await json(res)).toEqual({ error: 'Invalid request format', message: 'Request body must be valid JSON', code: 'INVALID_JSON' });
});

test('payload too large → 413 PAYLOAD_TOO_LARGE', async () => {
  const big = Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20);
  const res = await postOnFreshConnection(`${t.url}/probe/dto`, big, { 'Content-Type': 'application/json' });
  expect(res.status).toBe(413);
  const body = res.body;
  expectShape(body);
  expect(body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { max_bytes: MAX_BODY_BYTES } });
});

test('validation failure → 400 VALIDATION_FAILED listing every problem', async () => {
  const res = await postRaw('/probe/dto', JSON.stringify({ name: 5, count: 99, extra: 'stripped' }));
  expect(res.status).toBe(400);
  const body = await json(res);
  expectShape(body);
  expect(body.code).toBe('VALIDATION_FAILED');
  expect(body.details.problems).toEqual(
    expect.arrayContaining(['name: name must be a string', 'count: count must not be greater than 10']),
  );
});

test('a valid body passes and unknown properties are stripped', async () => {
  const res = await postRaw('/probe/dto', JSON.stringify({ name: 'car', count: 3, extra: 'x' }));
  expect(res.status).toBe(201);
  expect(await json(res)).toEqual({ ok: true, body: { name: 'car', count: 3 } });
});

test('unexpected errors → 500 with an error id, no stack trace or message leak', async () => {
  const res = await t.fetch('/probe/crash');
  expect(res.status).toBe(500);
  const body = await json(res);
  expectShape(body);
  expect(body.code).toBe('INTERNAL_ERROR');
  expect(body.details.error_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(body.message).toContain(body.details.error_id);
  const text = JSON.stringify(body);
  expect(text).not.toContain('hunter2');
  expect(text).not.toContain('.ts:');
});

test('unsupported charset → 415 in the error shape', async () => {
  const res = await postRaw('/probe/dto', '{}', { 'Content-Type': 'application/json; charset=ebcdic' });
  expect(res.status).toBe(415);
  expectShape(await json(res));
});
