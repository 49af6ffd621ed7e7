/**
 * The `generation` CLI as users run it: the built file (dist/src/cli/generation.js, built by pretest) as a child
 * process against the real app over loopback HTTP. The app runs the API role only, so a job moves when the test moves
 * it (finishJob writes what the worker would); the test waits on the child's output and exit, never on a timer.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientsService } from '../../src/auth/clients/clients.service.js';
import { json, startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { createBatch, finishJob, lots } from '../jobs/jobs-support.js';

jest.setTimeout(120_000);

const CLI = new URL('../../dist/src/cli/generation.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onLine` sees each stdout line as it arrives (e.g. to move the job once the first poll is printed). */
function cli(
  args: string[],
  env: Record<string, string | undefined> = { SHARED_KEY: TEST_SHARED_KEY },
  onLine?: (line: string) => void,
): Promise<Run> {
  const base = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'SHARED_KEY', 'GS_KEY_ID', 'GS_SECRET', 'GS_PRIVATE_KEY_FILE', 'GS_URL']) delete base[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--url', t.url, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) onLine?.(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');
/** Calls `action` once, on the first line that matches. */
const once = (pattern: RegExp, action: () => Promise<void>) => {
  let done = false;
  return (line: string) => {
    if (done || !pattern.test(line)) return;
    done = true;
    void action();
  };
};

let t: TestApp;
let dir: string;
beforeAll(async () => {
  t = await startTestApp({ env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000' } });
  dir = await mkdtemp(join(tmpdir(), 'generation-cli-'));
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

describe('submit', () => {
  test('prints the job id of FILE.json; --json prints the accepted job', async () => {
    const file = join(dir, 'request.json');
    await writeFile(file, JSON.stringify({ version: '1.0.0', languages: ['en', 'de'], lots: lots(3, 'submit') }));
    const plain = await cli(['submit', file]);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    const id = plain.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const status = await json(await t.getJob(`/api/v1/batch-status/${id}`, id));
    expect(status.progress.total_lots).toBe(3);

    const machine = await cli(['--json', 'submit', file]);
    expect(machine.code).toBe(0);
    expect(JSON.parse(machine.stdout)).toMatchObject({ job_id: expect.any(String), status: 'accepted', total_lots: 3 });
  });

  test('an invalid body: exit 1 with the API message and code', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ version: '1.0.0', languages: ['xx'], lots: lots(2, 'bad') }));
    const run = await cli(['submit', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: Unsupported language codes: xx \(HTTP 422, UNSUPPORTED_LANGUAGE\)/);
  });
});

describe('poll', () => {
  test('one line per poll without a TTY; completed → exit 0 and --download writes the results JSON', async () => {
    const id = await createBatch(t, 3);
    const out = join(dir, 'results.json');
    const run = await cli(
      ['poll', id, '--interval', '0.2', '--timeout', '1', '--download', '--out', out],
      undefined,
      once(/pending/, () => finishJob(t.db, id)),
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const output = lines(run.stdout);
    expect(output[0]).toMatch(/^\[\d\d:\d\d:\d\d\] pending, stage \w+: 0\/3 lots processed, 0 failed \(0%\), ETA \S+/);
    expect(output).toContainEqual(
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\] completed, stage completed: 2\/3 lots processed, 1 failed \(100%\), ETA done$/),
    );
    expect(output.at(-2)).toBe(`job ${id} completed: 2 processed, 1 failed of 3 lots`);
    expect(output.at(-1)).toMatch(new RegExp(`^results saved to ${out} \\(\\d+ bytes\\)$`));
    const expected = await json(await t.getJob(`/api/v1/batch-results/${id}`, id));
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(expected);
  });

  test('failed → exit 2, saying so (with the reason)', async () => {
    const id = await createBatch(t, 3);
    await t.db.query(`UPDATE batch_jobs SET error_message = 'OpenAI batch expired' WHERE id = $1`, [id]);
    const run = await cli(
      ['poll', id, '--interval', '0.2', '--timeout', '1'],
      undefined,
      once(/pending/, () => finishJob(t.db, id, 'failed')),
    );
    expect(run.code).toBe(2);
    expect(lines(run.stdout).at(-1)).toBe(`job ${id} failed: 2 processed, 1 failed of 3 lots (OpenAI batch expired)`);
  });

  test('cancelled → exit 2; `cancel` prints the cancellation', async () => {
    const id = await createBatch(t, 2);
    const cancel = await cli(['cancel', id]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^job ${id} cancelled at \\d{4}-`));
    const run = await cli(['poll', id, '--interval', '0.2']);
    expect(run.code).toBe(2);
    expect(lines(run.stdout)).toEqual([expect.stringMatching(/cancelled/), `job ${id} cancelled: 0 processed, 0 failed of 2 lots`]);
    const again = await cli(['cancel', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(HTTP 400, JOB_NOT_CANCELLABLE\)/);
  });

  test('--timeout in minutes: a job that does not finish → exit 3 after polling until the deadline', async () => {
    const id = await createBatch(t, 2);
    const started = Date.now();
    const run = await cli(['poll', id, '--interval', '0.2', '--timeout', '0.01']); // 0.6 s
    expect(run.code).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    const output = lines(run.stdout);
    expect(output.length).toBeGreaterThanOrEqual(3); // polls at 0, 0.2, 0.4 and the deadline
    expect(output.slice(0, -1).every((line) => /pending, stage \w+: 0\/2 lots processed/.test(line))).toBe(true);
    expect(output.at(-1)).toBe(`timed out after 0.01 min: job ${id} is still pending`);
  });

  test('--json: one status object per poll with an ETA field, then the outcome', async () => {
    const id = await createBatch(t, 3);
    const run = await cli(
      ['--json', 'poll', id, '--interval', '0.2'],
      undefined,
      once(/"pending"/, () => finishJob(t.db, id)),
    );
    expect(run.code).toBe(0);
    const objects = lines(run.stdout).map((line) => JSON.parse(line));
    expect(objects[0]).toMatchObject({ job_id: id, status: 'pending', progress: { total_lots: 3 } });
    // The service's own estimate while nothing has moved yet.
    const estimate = (Date.parse(objects[0].progress.estimated_completion) - Date.now()) / 1000;
    expect(Math.abs(objects[0].eta_seconds - estimate)).toBeLessThan(30);
    expect(objects.at(-1)).toEqual({
      job_id: id,
      outcome: 'completed',
      processed_lots: 2,
      failed_lots: 1,
      total_lots: 3,
      error_message: null,
      download: null,
    });
  });
});

describe('errors: exit 1 with the message and code', () => {
  test('unknown job, wrong key, no credentials, nothing listening, bad option', async () => {
    const unknown = await cli(['poll', '00000000-0000-4000-8000-000000000000', '--interval', '0.2']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\(HTTP 404, JOB_NOT_FOUND\)/);

    const wrongKey = await cli(['jobs'], { SHARED_KEY: 'a-wrong-shared-key-of-at-least-32-characters' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/\(HTTP 403, INVALID_SIGNATURE\)/);
    const machine = await cli(['--json', 'jobs'], { SHARED_KEY: 'a-wrong-shared-key-of-at-least-32-characters' });
    expect(JSON.parse(machine.stderr)).toMatchObject({
      http_status: 403,
      code: 'INVALID_SIGNATURE',
      message: expect.any(String),
      error: expect.any(String),
    });

    const none = await cli(['jobs'], {});
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no credentials: set GS_KEY_ID/);

    const closed = await freePort();
    const offline = await cli(['--url', `http://127.0.0.1:${closed}`, 'jobs']);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(new RegExp(`cannot reach http://127.0.0.1:${closed}: .*\\(NETWORK_ERROR\\)`));

    const usage = await cli(['poll', 'x', '--interval', 'soon']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/--interval <seconds>.*expected a positive number of seconds/);
  });
});

describe('jobs and results', () => {
  test('jobs: a table of the signing client only, with --status and --limit; --json the list', async () => {
    const clients = t.app.get(ClientsService);
    const issued = await clients.create('CLI tenant');
    const v2 = { GS_KEY_ID: issued.key_id, GS_SECRET: issued.secret };
    const file = join(dir, 'tenant.json');
    await writeFile(file, JSON.stringify({ version: '1.0.0', languages: ['en'], lots: lots(2, 'tenant') }));
    const first = (await cli(['submit', file], v2)).stdout.trim();
    const second = (await cli(['submit', file], v2)).stdout.trim();
    await finishJob(t.db, first);

    const table = await cli(['jobs'], v2);
    expect(table.code).toBe(0);
    const rows = lines(table.stdout);
    expect(rows[0].split(/\s{2,}/)).toEqual(['JOB', 'STATUS', 'DONE', 'FAILED', 'PROGRESS', 'LANGUAGES', 'CREATED']);
    expect(rows.slice(1, -1).map((row) => row.split(/\s{2,}/).slice(0, 5))).toEqual([
      [second, 'pending', '0/2', '0', '0%'],
      [first, 'completed', '2/2', '0', '100%'],
    ]);
    expect(rows.at(-1)).toBe('2 of 2 job(s)');

    const filtered = await cli(['jobs', '--status', 'completed', '--limit', '1'], v2);
    expect(
      lines(filtered.stdout)
        .slice(1, -1)
        .map((row) => row.split(/\s+/)[0]),
    ).toEqual([first]);
    const machine = await cli(['--json', 'jobs', '--limit', '1'], v2);
    expect(JSON.parse(machine.stdout)).toMatchObject({ jobs: [{ id: second }], pagination: { limit: 1, total: 2, has_more: true } });
    expect(lines(machine.stdout)).toHaveLength(1);
  });

  test('results: a table of lots with the first words per language; --json the document; 202 → exit 1', async () => {
    const id = await createBatch(t, 3);
    const early = await cli(['results', id]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/Job is currently pending.*\(HTTP 202, JOB_NOT_COMPLETED\)/);

    await finishJob(t.db, id);
    const run = await cli(['results', id]);
    expect(run.code).toBe(0);
    const rows = lines(run.stdout).map((row) => row.split(/\s{2,}/));
    expect(rows[0]).toEqual([`job ${id} completed: 2 processed, 1 failed of 3 lots`]);
    expect(rows.slice(1)).toEqual([
      ['LOT', 'STATUS', 'EN', 'DE'],
      ['lot-1', 'completed', 'Damage of lot-1', '[de] Schaden lot-1'],
      ['lot-2', 'completed', 'Damage of lot-2', '[de] Schaden lot-2'],
      ['lot-3', 'failed', "(Vision analysis failed (refusal): I'm sorry)", "(Vision analysis failed (refusal): I'm sorry)"],
    ]);
    const machine = await cli(['--json', 'results', id]);
    expect(JSON.parse(machine.stdout)).toEqual(await json(await t.getJob(`/api/v1/batch-results/${id}`, id)));
  });
});

/** A loopback port with nothing listening (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
