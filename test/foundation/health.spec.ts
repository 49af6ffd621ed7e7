import { createTestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { startTestApp, type TestApp, json } from '../support/app.js';
import { WorkerHeartbeatService } from '../../src/worker/worker-heartbeat.service.js';

describe('health with the database up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('/health/ready is 200 once this worker has beaten, and lists it on the management port', async () => {
    const body = await waitFor(
      async () => {
        const res = await t.manage('/health/ready');
        return res.status === 200 ? json(res) : undefined;
      },
      { timeoutMs: 10_000, what: 'readiness' },
    );
    expect(body.status).toBe('ok');
    expect(body.info.database.status).toBe('up');
    expect(body.info.migrations).toMatchObject({ status: 'up', applied: expect.any(Number) });
    expect(body.info.workers.this_instance).toBe(t.config.instanceId);
    expect(body.info.workers.instances).toEqual([
      expect.objectContaining({ instance_id: t.config.instanceId, role: 'all', alive: true, pid: process.pid }),
    ]);
    // The public port: the same checks, a status each and nothing else.
    const pub = await t.fetch('/health/ready');
    expect(pub.status).toBe(200);
    expect(await json(pub)).toEqual({
      status: 'ok',
      info: { database: { status: 'up' }, migrations: { status: 'up' }, workers: { status: 'up' } },
      error: {},
      details: { database: { status: 'up' }, migrations: { status: 'up' }, workers: { status: 'up' } },
    });
  });

  test('/health answers 200 for the Docker HEALTHCHECK; the OpenAI mode is shown on the management port', async () => {
    const res = await t.fetch('/health');
    expect(res.status).toBe(200);
    expect((await json(res)).info.openai).toEqual({ status: 'up' });
    const detailed = await t.manage('/health');
    expect(detailed.status).toBe(200);
    expect((await json(detailed)).info.openai).toMatchObject({ status: 'up', mode: 'openai', base_url: t.config.openai.baseUrl });
  });

  test('/health/live needs no signature and reports the process (its pid and role on the management port only)', async () => {
    const res = await t.fetch('/health/live');
    expect(res.status).toBe(200);
    expect((await json(res)).info.process).toEqual({ status: 'up' });
    const detailed = await t.manage('/health/live');
    expect((await json(detailed)).info.process).toMatchObject({ status: 'up', role: 'all', pid: process.pid });
  });
});

describe('health with the database down', () => {
  let t: TestApp;
  beforeAll(async () => {
    const db = await createTestDatabase();
    t = await startTestApp({ db, env: { APP_ROLE: 'api' } });
    await db.drop(); // terminates the app's connections and removes the database
  });
  afterAll(() => t.close());

  test('liveness stays 200, readiness and /health go 503 naming the database', async () => {
    expect((await t.fetch('/health/live')).status).toBe(200);
    for (const path of ['/health/ready', '/health']) {
      const res = await t.fetch(path);
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body).toMatchObject({ error: 'Service unavailable', code: 'SERVICE_UNAVAILABLE' });
      expect(body.message).toMatch(/^Not healthy: database/);
      expect(body.details.status).toBe('error');
      expect(body.details.error.database).toEqual({ status: 'down' });
      const detailed = await t.manage(path);
      expect(detailed.status).toBe(503);
      expect(await json(detailed)).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        details: { error: { database: { status: 'down', message: expect.any(String) } } },
      });
    }
  });
});

describe('worker liveness', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The tick loop beats at start and then not within the test (interval 1 h); the tests age the beat in the database.
    t = await startTestApp({ env: { WORKER_POLL_INTERVAL: '3600', HEARTBEAT_STALE_AFTER: '1' } });
  });
  afterAll(() => t.close());

  /** Makes `app`'s last beat an hour old: stale by every reader's clock (JS and database), without waiting for it. */
  async function backdateHeartbeat(app: TestApp): Promise<void> {
    const rows = await app.db.query(
      `UPDATE worker_heartbeats SET last_beat_at = now() - interval '1 hour' WHERE instance_id = $1 RETURNING instance_id`,
      [app.config.instanceId],
    );
    expect(rows).toHaveLength(1);
  }

  test("readiness goes 503 when this worker's heartbeat is stale (reference 000)", async () => {
    await t.app.get(WorkerHeartbeatService).beat();
    expect((await t.fetch('/health/ready')).status).toBe(200);
    await backdateHeartbeat(t);
    const readiness = await t.manage('/health/ready');
    expect(readiness.status).toBe(503);
    const stale = await json(readiness);
    expect(stale.details.error.workers.message).toMatch(/heartbeat is stale/);
    expect(stale.details.error.workers.instances[0]).toMatchObject({ instance_id: t.config.instanceId, alive: false });
    const pub = await t.fetch('/health/ready');
    expect(pub.status).toBe(503);
    expect(await json(pub)).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Not healthy: workers',
      details: { error: { workers: { status: 'down' } } },
    });
  });

  test('an API-only process stays ready and healthy without a worker of its own, and /health shows that none is alive', async () => {
    const api = await startTestApp({ db: t.db, env: { APP_ROLE: 'api', HEARTBEAT_STALE_AFTER: '1' } });
    try {
      await backdateHeartbeat(t); // the other worker's beat goes stale
      expect((await api.fetch('/health/ready')).status).toBe(200);
      const overall = await api.fetch('/health');
      expect(overall.status).toBe(200);
      expect(await json(overall)).toMatchObject({ status: 'degraded', info: { workers: { status: 'degraded' } } });
      const body = await json(await api.manage('/health'));
      expect(body.status).toBe('degraded');
      expect(body.info.workers).toMatchObject({ status: 'degraded', alive: 0, message: expect.stringMatching(/no live worker/) });
    } finally {
      await api.close();
    }
  });
});
