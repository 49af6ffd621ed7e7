import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { gzipSync } from 'node:zlib';
import { canonicalJson } from '../../src/common/json/canonical-json.js';
import { sign } from '../../src/auth/hmac.js';
import { freePort } from '../../src/database/embedded-postgres.js';
import { postOnFreshConnection } from '../support/app.js';

/**
 * The real entry point (`dist/src/main.js`, built by `npm test`'s pretest step)
 * started as a child process, exactly as `npm start` runs it: configuration
 * errors, embedded PostgreSQL + offline emulator, Ctrl-C, and a restart that
 * reuses the data.
 */
const MAIN = new URL('../../dist/src/main.js', import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Started {
  const base = { ...process.env };
  for (const key of ['DATABASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'SHARED_KEY', 'NODE_OPTIONS', 'NODE_ENV', 'APP_ROLE'])
    delete base[key];
  const child = spawn(process.execPath, [MAIN], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Waits for /health 200 on the public port, then answers the management port's detailed /health. */
async function waitForHealth(port: number, timeoutMs: number, started: Started, managementPort?: number): Promise<Record<string, any>> {
  const body = await waitForPublicHealth(port, timeoutMs, started);
  if (managementPort === undefined) return body;
  return (await (await fetch(`http://127.0.0.1:${managementPort}/health`)).json()) as Record<string, any>;
}

async function waitForPublicHealth(port: number, timeoutMs: number, started: Started): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void started.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the service exited with ${exitCode}:\n${started.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) return (await res.json()) as Record<string, any>;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no /health 200 within ${timeoutMs} ms:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does it first)`);
});

test('invalid configuration: one message listing every problem, exit code 78', async () => {
  const started = start({ NODE_ENV: 'production', PORT: 'x', APP_ROLE: 'gunicorn', SHARED_KEY: 'short' });
  expect(await started.exited).toBe(78);
  const output = started.output();
  expect(output).toMatch(/^Invalid configuration:/m);
  for (const name of ['PORT', 'APP_ROLE', 'SHARED_KEY', 'DATABASE_URL', 'OPENAI_API_KEY']) expect(output).toContain(name);
});

describe('embedded PostgreSQL and offline mode (npm start on a fresh clone)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gs-process-'));
    await chmod(dataDir, 0o755); // like a project folder: PostgreSQL's own user must enter it when we run as root
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test('starts, serves, stops PostgreSQL on SIGINT, and restarts on the same data', async () => {
    const port = await freePort();
    const managementPort = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), MANAGEMENT_PORT: String(managementPort), WORKER_POLL_INTERVAL: '0.5' };

    const first = start(env);
    const health = await waitForHealth(port, 90_000, first, managementPort);
    expect(health.status).toBe('degraded'); // offline mode is visible in /health
    expect(health.info.openai).toMatchObject({ status: 'degraded', mode: 'offline-emulator' });
    expect(health.info.workers.alive).toBe(1);
    expect(first.output()).toContain('OFFLINE MODE');
    const key = (await readFile(join(dataDir, 'shared-key'), 'utf8')).trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(first.output()).toContain(key); // printed so a newcomer can sign requests
    expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200);

    // Bodies over 1 MB are parsed in the parser thread, whose script must resolve from dist/ as `npm start` runs it.
    const base = `http://127.0.0.1:${port}/api/v1`;
    const lots = Array.from({ length: 1_500 }, (_, i) => ({
      lot_id: `big-${i}`,
      additional_info: 'd'.repeat(800),
      images: [{ url: `https://img.invalid/${i}.jpg` }],
    }));
    const big = JSON.stringify({ version: '1.0.0', languages: ['en'], lots });
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const created = await fetch(`${base}/generate-descriptions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Signature': sign(key, canonicalJson(lots)) },
      body: big,
    });
    expect(created.status).toBe(201);
    const jobId = ((await created.json()) as { job_id: string }).job_id;
    expect(
      (await fetch(`${base}/batch-jobs/${jobId}/cancel`, { method: 'POST', headers: { 'X-Signature': sign(key, jobId) } })).status,
    ).toBe(200);
    // A gzip bomb is refused by the built service too, and it keeps answering.
    const inflated = Buffer.alloc(100 * 1024 * 1024, '[],');
    inflated[0] = 0x5b;
    inflated.write('[]]', inflated.length - 3);
    const bomb = await postOnFreshConnection(`${base}/generate-descriptions`, gzipSync(inflated), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    expect(bomb.status).toBe(413);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);

    const pgPort = Number(/embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(first.output())?.[1]);
    expect(pgPort).toBeGreaterThan(0);
    const password = (await readFile(join(dataDir, 'postgres', 'postgres-password'), 'utf8')).trim();
    const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/generation_service`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`INSERT INTO api_clients (id, name) VALUES ('persisted', 'written during the first run')`);
    await client.end();

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(await portOpen(pgPort)).toBe(false); // Ctrl-C stopped PostgreSQL too

    const second = start(env);
    try {
      await waitForHealth(port, 60_000, second);
      expect(second.output()).toContain(key); // same development key
      const pgPort2 = Number(/embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(second.output())?.[1]);
      const again = new pg.Client({ connectionString: url.replace(`:${pgPort}/`, `:${pgPort2}/`) });
      await again.connect();
      const rows = await again.query(`SELECT name FROM api_clients WHERE id = 'persisted'`);
      await again.end();
      expect(rows.rows).toEqual([{ name: 'written during the first run' }]);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 180_000);
});
