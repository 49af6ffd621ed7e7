/**
 * `npm run demo` (`generation demo`) against a running service that completes jobs: the app with the OpenAI
 * emulator and a loopback image host. The demo starts nothing; it submits the sample lots, polls to the end and
 * prints the results table with a description per language.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { TEST_SHARED_KEY } from '../support/app.js';
import { startPipeline, type PipelineHarness } from '../pipeline/pipeline-support.js';

jest.setTimeout(120_000);

const CLI = new URL('../../dist/src/cli/generation.js', import.meta.url).pathname;

let h: PipelineHarness;
beforeAll(async () => {
  // The service serves its sample photos (as in offline mode), so the demo's defaults are real images.
  h = await startPipeline({ batchDurationMs: 100, env: { SERVE_SAMPLES: 'true' } });
});
afterAll(() => h.close());

function demo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, SHARED_KEY: TEST_SHARED_KEY };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--url', h.app.url, 'demo', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('submits the sample lots, shows the progress, ends completed with descriptions in both languages', async () => {
  const images = [1, 2, 3].map((n) => `${h.images.url}/img/car-${n}.jpg`).join(',');
  const run = await demo(['--images', images, '--languages', 'en,de', '--interval', '0.2', '--timeout', '1']);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  const lines = run.stdout.split('\n').filter(Boolean);
  const id = /^submitted 3 sample lots as job (\S+) \(en, de\) to /.exec(lines[0])?.[1];
  expect(id).toBeDefined();
  expect(lines.slice(1)).toContainEqual(
    expect.stringMatching(/^\[\d\d:\d\d:\d\d\] (pending|processing|translating), stage \w+: \d\/3 lots processed/),
  );
  expect(lines).toContain(`job ${id} completed: 3 processed, 0 failed of 3 lots`);
  const table = lines.slice(lines.indexOf(`job ${id} completed: 3 processed, 0 failed of 3 lots`) + 1).map((row) => row.split(/\s{2,}/));
  expect(table[0]).toEqual(['LOT', 'STATUS', 'EN', 'DE']);
  expect(table.slice(1).map((row) => row.slice(0, 2))).toEqual([
    ['demo-1', 'completed'],
    ['demo-2', 'completed'],
    ['demo-3', 'completed'],
  ]);
  for (const row of table.slice(1)) {
    expect(row).toHaveLength(4);
    expect(row[2]).toMatch(/\w+ \w+/);
    expect(row[3]).toMatch(/\w+ \w+/);
  }
});

test("the default sample images are the service's own /samples/car-{1,2,3}.png", async () => {
  const run = await demo(['--interval', '0.2', '--timeout', '1', '--languages', 'en']);
  const id = /job (\S+)/.exec(run.stdout)?.[1];
  const rows = await h.app.db.query<{ images: { url: string }[] }>(
    'SELECT images FROM batch_lots WHERE batch_job_id = $1 ORDER BY position',
    [id],
  );
  expect(rows.map((row) => row.images[0].url)).toEqual([1, 2, 3].map((n) => `${h.app.url}/samples/car-${n}.png`));
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(run.stdout).toContain(`job ${id} completed`);
});
