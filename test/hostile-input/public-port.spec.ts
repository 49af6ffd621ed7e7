import { connect } from 'node:net';
import { hostname } from 'node:os';
import { maskUrlCredentials } from '../../src/common/http/safe-request.js';
import { ConfigError, parseEnvironment } from '../../src/config/environment.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { startPipeline, untilTerminal, waitFor, type PipelineHarness } from '../pipeline/pipeline-support.js';
import { json, startTestApp, type TestApp } from '../support/app.js';

/*
 * Issue 8 §6: the public port tells a status per check and nothing that
 * identifies hosts, processes, instances or URLs (the OpenAI base URL may
 * carry a proxy's credentials); the detail and /metrics are on the management
 * port; webhook delivery listings never show a receiver's credentials.
 */

const SECRET = 's3cret-proxy-password';
const BASE_URL = `http://proxyuser:${SECRET}@127.0.0.1:9/v1`;

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('health and metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ openaiBaseUrl: BASE_URL });
    await waitFor(async () => (await t.fetch('/health/ready')).status === 200, { what: 'readiness' });
  });
  afterAll(() => t?.close());

  /** Anything that would tell an outsider which host, process or instance answered, or where OpenAI is. */
  function expectNothingIdentifying(text: string): void {
    for (const secret of [
      SECRET,
      'proxyuser',
      '127.0.0.1',
      t.config.instanceId,
      hostname(),
      `"pid"`,
      String(process.pid),
      'base_url',
      'instances',
      'uptime',
    ]) {
      expect([secret, text.includes(secret)]).toEqual([secret, false]);
    }
  }

  test.each(['/health', '/health/live', '/health/ready'])('public %s: a status per check, nothing else', async (path) => {
    const res = await t.fetch(path);
    expect(res.status).toBe(200);
    const text = await res.text();
    expectNothingIdentifying(text);
    const body = JSON.parse(text);
    const checks = {
      '/health': ['database', 'migrations', 'openai', 'workers'],
      '/health/live': ['process'],
      '/health/ready': ['database', 'migrations', 'workers'],
    }[path]!;
    expect(Object.keys(body.details).sort()).toEqual(checks);
    for (const section of ['info', 'details']) {
      for (const [name, value] of Object.entries(body[section])) expect([name, value]).toEqual([name, { status: 'up' }]);
    }
    expect(body).toEqual({ status: 'ok', info: body.details, error: {}, details: body.details });
  });

  test('a failing public check names the check and nothing more (503, error shape)', async () => {
    await t.db.query(`UPDATE worker_heartbeats SET last_beat_at = now() - interval '1 hour'`);
    await t.db.query(`ALTER TABLE worker_heartbeats RENAME TO worker_heartbeats_gone`);
    try {
      const res = await t.fetch('/health/ready');
      expect(res.status).toBe(503);
      const text = await res.text();
      expectNothingIdentifying(text);
      expect(JSON.parse(text)).toEqual({
        error: 'Service unavailable',
        message: 'Not healthy: workers',
        code: 'SERVICE_UNAVAILABLE',
        details: {
          status: 'error',
          info: { database: { status: 'up' }, migrations: { status: 'up' } },
          error: { workers: { status: 'down' } },
          details: { database: { status: 'up' }, migrations: { status: 'up' }, workers: { status: 'down' } },
        },
      });
      // The management port says why (here: the database error, which may name hosts — hence not public).
      const detailed = await json(await t.manage('/health/ready'));
      expect(detailed.details.error.workers.message).toMatch(/^cannot read heartbeats: /);
    } finally {
      await t.db.query(`ALTER TABLE worker_heartbeats_gone RENAME TO worker_heartbeats`);
    }
    expect((await t.fetch('/health/live')).status).toBe(200);
  });

  test('the management port has the detail — the base URL with its password masked — and /metrics', async () => {
    const health = await waitFor(
      async () => {
        const res = await t.manage('/health'); // the previous test made this worker's heartbeat stale: wait for its next beat
        return res.status === 200 ? res : undefined;
      },
      { what: 'a fresh heartbeat' },
    );
    expect(health.headers.get('cache-control')).toBe('no-store');
    const text = await health.text();
    expect(text).not.toContain(SECRET);
    const body = JSON.parse(text);
    expect(body.info.openai).toEqual({ status: 'up', mode: 'openai', base_url: 'http://proxyuser:***@127.0.0.1:9/v1' });
    expect(body.info.workers.instances).toEqual([
      expect.objectContaining({ instance_id: t.config.instanceId, hostname: hostname(), pid: process.pid }),
    ]);
    expect((await json(await t.manage('/health/live'))).info.process).toMatchObject({ pid: process.pid, role: 'all' });

    const metrics = await t.manage('/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^gs_worker_heartbeat_age_seconds\{instance=".+",role="all"\} /m);
  });

  test('/metrics and /docs-of-management are not on the public port; the management port knows only its own routes', async () => {
    const pub = await t.fetch('/metrics');
    expect(pub.status).toBe(404);
    expect(await json(pub)).toEqual({ error: 'Not found', message: 'No route for GET /metrics', code: 'NOT_FOUND' });
    const unknown = await t.manage('/api/v1/batch-jobs');
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: 'Not found', message: 'No route for GET /api/v1/batch-jobs', code: 'NOT_FOUND' });
    const wrongMethod = await t.manage('/metrics', { method: 'POST', body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
    expect(await json(wrongMethod)).toEqual({
      error: 'Method not allowed',
      message: 'POST is not allowed on /metrics; allowed: GET, HEAD',
      code: 'METHOD_NOT_ALLOWED',
    });
  });
});

test('the management listener closes with the application', async () => {
  const app = await startTestApp({ env: { APP_ROLE: 'api' } });
  const port = Number(new URL(app.managementUrl).port);
  expect((await app.manage('/health/live')).status).toBe(200);
  await app.close();
  expect(await portOpen(port)).toBe(false);
});

test('MANAGEMENT_PORT is validated and must differ from PORT', () => {
  const problems = (env: Record<string, string>) => {
    try {
      parseEnvironment(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };
  expect(parseEnvironment({}).MANAGEMENT_PORT).toBe(9464);
  expect(problems({ MANAGEMENT_PORT: 'x' }).join()).toContain('MANAGEMENT_PORT');
  expect(problems({ MANAGEMENT_PORT: '70000' }).join()).toContain('MANAGEMENT_PORT');
  expect(problems({ PORT: '8080', MANAGEMENT_PORT: '8080' })).toEqual([
    expect.stringMatching(/^MANAGEMENT_PORT must differ from PORT \(both 8080\)/),
  ]);
  expect(problems({ PORT: '0', MANAGEMENT_PORT: '0' })).toEqual([]);
});

describe('webhook delivery listings', () => {
  let h: PipelineHarness;
  let receiver: LoopbackServer;
  beforeAll(async () => {
    h = await startPipeline();
    receiver = await startLoopbackServer((_request, response) => response.writeHead(500).end(`nope ${receiver.url}`));
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  test('credentials in any URL of a listed text are masked', () => {
    expect(maskUrlCredentials('Network error contacting http://u:p@10.0.0.1/x and https://token@h.example/y?a=b@c')).toBe(
      'Network error contacting http://***:***@10.0.0.1/x and https://***@h.example/y?a=b@c',
    );
    expect(maskUrlCredentials('https://plain.example/a@b')).toBe('https://plain.example/a@b');
  });

  test('mask user:password@ in the URL; the receiver still gets the credentials', async () => {
    const hook = receiver.url.replace('http://', 'http://hookuser:hook-pass-123@') + '/hook';
    const res = await h.app.postLots({
      version: '1.0.0',
      languages: ['en'],
      lots: ['a', 'b'].map((id) => ({ lot_id: id, webhook: hook, images: [{ url: `${h.images.url}/img/${id}.jpg` }] })),
    });
    expect(res.status).toBe(201);
    const { job_id: jobId } = await json(res);
    await untilTerminal(h.app, h.app.db, jobId);
    const delivered = await waitFor(async () => receiver.to('/hook')[0], { what: 'a webhook attempt' });
    expect(delivered.headers.authorization).toBe(`Basic ${Buffer.from('hookuser:hook-pass-123').toString('base64')}`);

    const listing = await h.app.getJob(`/api/v1/batch-jobs/${jobId}/webhook-deliveries`, jobId);
    expect(listing.status).toBe(200);
    const text = await listing.text();
    expect(text).not.toContain('hook-pass-123');
    expect(text).not.toContain('hookuser');
    const body = JSON.parse(text);
    expect(body.deliveries[0].webhook_url).toBe(receiver.url.replace('http://', 'http://***:***@') + '/hook');
    // The stored row keeps the real URL: it is what the sender needs.
    const [stored] = await h.app.db.query(`SELECT webhook_url FROM webhook_deliveries WHERE batch_job_id = $1`, [jobId]);
    expect(stored.webhook_url).toBe(hook);
  });
});
