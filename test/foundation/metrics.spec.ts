import { startTestApp, type TestApp, json } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { APP_ROLE: 'api' } });
});
afterAll(() => t.close());

test('/metrics (management port) exposes process, HTTP and database-backed gauges in Prometheus format', async () => {
  await t.db.query(
    `INSERT INTO batch_jobs (client_id, status, processing_mode, version, languages, total_lots)
     VALUES ('default', 'processing', 'batch', '1.0.0', '["en"]', 2), ('default', 'completed', 'batch', '1.0.0', '["en"]', 3)`,
  );
  await t.fetch('/health/live');
  // Refused before any handler runs (no signature): timed like every other answer, by route template.
  expect((await t.fetch('/api/v1/batch-status/550e8400-e29b-41d4-a716-446655440000')).status).toBe(401);
  const res = await t.manage('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  expect(text).toMatch(/^gs_jobs\{status="processing",role="api"\} 1$/m);
  expect(text).toMatch(/^gs_jobs\{status="completed",role="api"\} 1$/m);
  expect(text).toMatch(/^gs_http_request_duration_seconds_count\{role="api",method="GET",route="\/health\/live",status="200"\} [1-9]/m);
  expect(text).toMatch(
    /^gs_http_request_duration_seconds_count\{role="api",method="GET",route="\/api\/v1\/batch-status\/:job_id",status="401"\} 1$/m,
  );
  expect(text).toMatch(/^gs_oldest_active_job_age_seconds\{role="api"\} \d/m);
  expect(text).toContain('gs_process_resident_memory_bytes');
});

test('/metrics is not served on the public port', async () => {
  const res = await t.fetch('/metrics');
  expect(res.status).toBe(404);
  expect(await json(res)).toEqual({ error: 'Not found', message: 'No route for GET /metrics', code: 'NOT_FOUND' });
});
