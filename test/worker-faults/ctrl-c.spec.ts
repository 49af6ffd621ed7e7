import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/database/embedded-postgres.js';
import { waitFor } from '../support/wait.js';
import { errorLines, spawnMain } from './worker-process.js';

/**
 * Issue 9 #4: a terminal's Ctrl-C signals the whole foreground process
 * group. `npm start` (embedded PostgreSQL, offline emulator) is started as a
 * group leader and the group gets SIGINT, as a terminal would send it: the
 * app closes first, PostgreSQL stops last, nothing is printed as an error,
 * and the next start reuses the data.
 */

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gs-ctrl-c-'));
  await chmod(dataDir, 0o755);
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function startService(port: number) {
  const started = spawnMain({ DATA_DIR: dataDir, PORT: String(port), WORKER_POLL_INTERVAL: '0.2' }, { detached: true });
  let gone = false;
  void started.exited.then(() => (gone = true));
  await waitFor(
    async () => {
      if (gone) throw new Error(`the service exited:\n${started.output()}`);
      return fetch(`http://127.0.0.1:${port}/health`)
        .then((res) => res.status === 200)
        .catch(() => false);
    },
    { timeoutMs: 90_000, what: '/health' },
  );
  const pgPort = Number(/embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(started.output())?.[1]);
  const postmasterPid = Number((await readFile(join(dataDir, 'postgres', 'cluster', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  return { ...started, pgPort, postmasterPid };
}

/** Ctrl-C as a terminal sends it: SIGINT to every process of the foreground group. */
async function ctrlC(service: Awaited<ReturnType<typeof startService>>) {
  process.kill(-service.pid, 'SIGINT');
  return service.exited;
}

test('Ctrl-C of the whole process group: no error line, PostgreSQL stopped last, data reused on the next start', async () => {
  const port = await freePort();
  const first = await startService(port);
  expect(alive(first.postmasterPid)).toBe(true);
  const password = (await readFile(join(dataDir, 'postgres', 'postgres-password'), 'utf8')).trim();
  const url = (pgPort: number) => `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/generation_service`;
  const client = new pg.Client({ connectionString: url(first.pgPort) });
  await client.connect();
  await client.query(`INSERT INTO api_clients (id, name) VALUES ('ctrl-c', 'written before Ctrl-C')`);
  await client.end();

  const exit = await ctrlC(first);
  expect(exit.code).toBe(0);
  expect(errorLines(first.output())).toEqual([]);
  expect(first.output()).toMatch(/SIGINT received: shutting down[\s\S]*worker \S+ stopped[\s\S]*stopped/);
  expect(alive(first.postmasterPid)).toBe(false);
  expect(await portOpen(first.pgPort)).toBe(false);

  const second = await startService(port);
  try {
    const again = new pg.Client({ connectionString: url(second.pgPort) });
    await again.connect();
    const rows = await again.query(`SELECT name FROM api_clients WHERE id = 'ctrl-c'`);
    await again.end();
    expect(rows.rows).toEqual([{ name: 'written before Ctrl-C' }]);
  } finally {
    const exit2 = await ctrlC(second);
    expect(exit2.code).toBe(0);
    expect(errorLines(second.output())).toEqual([]);
    expect(alive(second.postmasterPid)).toBe(false);
  }
}, 180_000);
