import { spawnSync } from 'node:child_process';
import { startTestApp, type TestApp, json } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const PUBLIC_PATHS = /^\/(health|metrics|openai\/webhooks)/;

test('/docs serves Swagger UI with the signing helper', async () => {
  const page = await t.fetch('/docs');
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('swagger-ui');
  // The signing helper is a served script (the CSP allows no inline script).
  expect(html).toContain(`<script src='/docs/swagger-signing.js'></script>`);
  const script = await t.fetch('/docs/swagger-signing.js');
  expect(script.status).toBe(200);
  expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(await script.text()).toContain('requestInterceptor');
});

test('/docs-json is a valid OpenAPI 3 document describing every route with its security and errors', async () => {
  const res = await t.fetch('/docs-json');
  expect(res.status).toBe(200);
  const document = await json(res);
  expect(document.openapi).toMatch(/^3\./);
  const validator = new URL('../support/openapi-validate.mjs', import.meta.url).pathname;
  const validation = spawnSync(process.execPath, [validator], { input: JSON.stringify(document), encoding: 'utf8' });
  expect(validation.stdout.trim()).toBe('valid');
  expect(document.components.securitySchemes.hmac).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Signature' });

  const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
  expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`)).toEqual(
    expect.arrayContaining([
      'POST /api/v1/generate-descriptions',
      'GET /api/v1/batch-status/{job_id}',
      'GET /api/v1/batch-results/{job_id}',
      'GET /api/v1/batch-results/{job_id}/download',
      'GET /api/v1/batch-jobs',
      'POST /api/v1/batch-jobs/{job_id}/cancel',
      'GET /api/v1/jobs/{job_id}/status',
      'GET /api/v1/jobs/{job_id}',
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
    ]),
  );
  for (const { path, method, operation } of operations) {
    const name = `${method.toUpperCase()} ${path}`;
    expect([name, operation.summary]).toEqual([name, expect.any(String)]);
    if (PUBLIC_PATHS.test(path)) continue;
    expect([name, operation.security]).toEqual([name, expect.arrayContaining([{ hmac: [] }])]);
    for (const status of ['401', '403']) expect([name, status, Boolean(operation.responses[status])]).toEqual([name, status, true]);
  }
});
