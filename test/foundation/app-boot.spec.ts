import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

test('health/live answers', async () => {
  const res = await t.fetch('/health/live');
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body.status).toBe('ok');
});

test('unknown route uses the error shape', async () => {
  const res = await t.fetch('/nope');
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: 'Not found', message: 'No route for GET /nope', code: 'NOT_FOUND' });
});
