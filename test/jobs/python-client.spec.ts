import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { startImageServer, type Json } from './jobs-support.js';

/*
 * Seed compatibility: the Python client of reference 002, byte for byte
 * (fixtures/generation_client.py), runs unchanged against the service —
 * sync_generate, batch_generate, get_job_status, get_job_results,
 * cancel_job and poll_for_completion.
 */

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

let images: Awaited<ReturnType<typeof startImageServer>>;
let emu: RunningEmulator;
let t: TestApp;
beforeAll(async () => {
  images = await startImageServer();
  emu = await startEmulator({ port: 0, batchDurationMs: 100 });
  t = await startTestApp({ env: { APP_ROLE: 'api' }, openaiBaseUrl: emu.url });
});
afterAll(async () => {
  await t.close();
  await emu.close();
  await images.close();
});

function runClient(env: Record<string, string>): Promise<Json> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [join(FIXTURES, 'drive_client.py')],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`python client failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

test('the Python client of reference 002 works unchanged: sync, batch, status, results, cancel, poll', async () => {
  const { base } = images;
  const out = await runClient({ GS_BASE_URL: t.url, GS_SHARED_KEY: TEST_SHARED_KEY, GS_IMAGE_URLS: `${base}/1.png,${base}/2.png` });

  expect(out.sync.status).toBe(200);
  expect(out.sync.result).toMatchObject({ version: '1.0.0', processing_mode: 'synchronous', total_lots: 1 });
  const [syncLot] = out.sync.result.lots;
  expect(syncLot).toMatchObject({ lot_id: 'sync-test-001', status: 'completed', processed_images: 2, missing_images: [] });
  expect(syncLot.descriptions.map((d: { language: string }) => d.language)).toEqual(['en', 'ru']);
  // Non-ASCII in additional_info travels as \u escapes in Python's body and signature alike.
  expect(syncLot.descriptions[0].damages).toBe(
    '<p>Damage assessment of 2 image(s): 2019 Toyota Camry, front collision damage — «фара»</p>' +
      '<p>The photos are consistent with the description; no further damage is visible.</p>',
  );

  expect(out.batch).toEqual({ job_id: expect.stringMatching(/^[0-9a-f-]{36}$/), error: null });
  expect(out.status.error).toBeNull();
  expect(out.status.data).toMatchObject({
    job_id: out.batch.job_id,
    status: 'pending',
    languages: ['en', 'fr', 'de'],
    webhook_configured: true,
  });
  expect(out.results_while_pending).toEqual({ data: null, error: 'Job not completed yet' });
  expect(out.cancel).toEqual({ ok: true, message: 'Job cancelled successfully' });
  expect(out.cancel_again.ok).toBe(false);
  expect(JSON.parse(out.cancel_again.message.replace('Failed to cancel job: ', ''))).toMatchObject({
    error: 'Job cannot be cancelled',
    status: 'cancelled',
  });
  expect(out.poll).toEqual({ data: null, error: 'Job cancelled: None' });

  const stored = await t.db.query('SELECT lot_id, webhook_url, status FROM batch_lots WHERE batch_job_id = $1 ORDER BY position', [
    out.batch.job_id,
  ]);
  expect(stored).toEqual([
    { lot_id: 'batch-001', webhook_url: 'https://your-app.com/webhooks/complete', status: 'cancelled' },
    { lot_id: 'batch-002', webhook_url: 'https://your-app.com/webhooks/complete', status: 'cancelled' },
  ]);
});
