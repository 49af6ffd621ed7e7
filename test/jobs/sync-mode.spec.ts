import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { freePort } from '../../src/database/embedded-postgres.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { body, lot, startImageServer } from './jobs-support.js';

/*
 * Synchronous mode end to end over real HTTP: the app, the OpenAI emulator
 * (which really downloads the images) and a loopback image server.
 */

const SECOND = 'The photos are consistent with the description; no further damage is visible.';
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

let images: Awaited<ReturnType<typeof startImageServer>>;
let imageBase: string;
let unreachable: string;
let emu: RunningEmulator;
let t: TestApp;

beforeAll(async () => {
  images = await startImageServer();
  imageBase = images.base;
  unreachable = `http://127.0.0.1:${await freePort()}/gone.jpg`; // nothing listens there
  emu = await startEmulator({ port: 0, batchDurationMs: 100 });
  t = await startTestApp({ env: { APP_ROLE: 'api', OPENAI_MAX_RETRIES: '0' }, openaiBaseUrl: emu.url });
});
afterAll(async () => {
  await t.close();
  await emu.close();
  await images.close();
});
afterEach(() => emu.faults.reset());

const syncLot = (info: string, urls: string[], lotId = 'sync-12345') => ({
  version: '1.0.0',
  languages: ['en', 'de', 'fr'],
  lots: [lot(lotId, { additional_info: info, images: urls.map((url) => ({ url })) })],
});

test('one lot → 200 with descriptions in every language, the unreachable image in missing_images, stored as a pollable job', async () => {
  const res = await t.postLots(
    syncLot('2021 BMW X5, front collision <damage>', [`${imageBase}/front.png`, unreachable, `${imageBase}/side.png`]),
  );
  expect(res.status).toBe(200);
  const json = await body(res);
  const english = `<p>Damage assessment of 2 image(s): 2021 BMW X5, front collision &lt;damage&gt;</p><p>${SECOND}</p>`;
  const lotView = {
    lot_id: 'sync-12345',
    status: 'completed',
    processed_at: ISO,
    processed_images: 2,
    descriptions: [
      { language: 'en', damages: english },
      { language: 'de', damages: english.replaceAll('<p>', '<p>[de] ') },
      { language: 'fr', damages: english.replaceAll('<p>', '<p>[fr] ') },
    ],
    missing_images: [unreachable],
    error: null,
  };
  expect(json).toEqual({
    job_id: expect.any(String),
    version: '1.0.0',
    processing_mode: 'synchronous',
    total_lots: 1,
    processed_at: ISO,
    lots: [lotView],
  });

  const status = await body(await t.getJob(`/api/v1/batch-status/${json.job_id}`, json.job_id));
  expect(status).toMatchObject({
    status: 'completed',
    processing_mode: 'synchronous',
    languages: ['en', 'de', 'fr'],
    webhook_configured: false,
    progress: { total_lots: 1, processed_lots: 1, failed_lots: 0, completion_percentage: 100 },
    processing_details: { current_stage: 'completed' },
  });
  const results = await body(await t.getJob(`/api/v1/batch-results/${json.job_id}`, json.job_id));
  expect(results.results.lots).toEqual([{ ...lotView, processed_at: json.lots[0].processed_at }]);
  expect(results.processing_summary).toMatchObject({ total_images_processed: 2 });

  const [stored] = await t.db.query(`SELECT vision_result, translations, usage FROM batch_lots WHERE batch_job_id = $1`, [json.job_id]);
  expect(stored.vision_result).toBe(english); // text, never a serialised object (reference 003)
  expect(Object.keys(stored.translations).sort()).toEqual(['de', 'fr']);
  expect(stored.usage.total_tokens).toBeGreaterThan(0);
});

test('no usable image → 200 with the lot failed and the reason; the job is stored failed', async () => {
  const res = await t.postLots(syncLot('Audi A4', [unreachable]));
  expect(res.status).toBe(200);
  const json = await body(res);
  expect(json.lots[0]).toMatchObject({ status: 'failed', processed_images: 0, descriptions: [], missing_images: [unreachable] });
  expect(json.lots[0].error).toMatch(/^No usable image/);
  const [job] = await t.db.query('SELECT status, processing_mode, failed_lots, error_message FROM batch_jobs WHERE id = $1', [json.job_id]);
  expect(job).toEqual({ status: 'failed', processing_mode: 'synchronous', failed_lots: 1, error_message: json.lots[0].error });
  expect(emu.stats().requests['POST /v1/responses'] ?? 0).toBe(2); // only the first test's two calls: OpenAI was not asked
});

test('a refusal fails the lot (200), with the reason stored', async () => {
  const json = await body(await t.postLots(syncLot('Honda Civic [emulator:refusal]', [`${imageBase}/a.png`])));
  expect(json.lots[0]).toMatchObject({ status: 'failed', descriptions: [], error: expect.stringMatching(/refusal/) });
});

test('OpenAI failing → 502 OPENAI_API_ERROR with the upstream error; the job is stored failed', async () => {
  emu.faults.failNext(500, { route: 'POST /v1/responses' });
  const res = await t.postLots(syncLot('Ford F-150', [`${imageBase}/a.png`]));
  expect(res.status).toBe(502);
  const json = await body(res);
  expect(json).toEqual({
    error: 'External service error',
    message: 'OpenAI API request failed',
    code: 'OPENAI_API_ERROR',
    details: { openai_error: expect.stringMatching(/request_failed/), job_id: expect.any(String) },
  });
  const [job] = await t.db.query('SELECT status, processing_mode FROM batch_jobs WHERE id = $1', [json.details.job_id]);
  expect(job).toEqual({ status: 'failed', processing_mode: 'synchronous' });
});

test('past SYNC_DEADLINE_SECONDS → 504 OPENAI_TIMEOUT at the deadline, not when OpenAI finally answers', async () => {
  const quick = await startTestApp({ env: { APP_ROLE: 'api', SYNC_DEADLINE_SECONDS: '0.5' }, openaiBaseUrl: emu.url });
  try {
    emu.faults.delayNext(5_000, { route: 'POST /v1/responses' });
    const started = Date.now();
    const res = await quick.postLots(syncLot('Slow', [`${imageBase}/a.png`]));
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    const json = await body(res);
    expect(json).toEqual({
      error: 'Gateway timeout',
      message: 'The synchronous request did not finish within 0.5 seconds',
      code: 'OPENAI_TIMEOUT',
      details: { deadline_seconds: 0.5, job_id: expect.any(String) },
    });
    expect(elapsed).toBeLessThan(3_000);
    const [job] = await quick.db.query('SELECT status, error_message FROM batch_jobs WHERE id = $1', [json.details.job_id]);
    expect(job).toEqual({ status: 'failed', error_message: 'The synchronous request did not finish within 0.5 seconds' });
  } finally {
    await quick.close();
  }
});

test('a client that disconnects stops the work; the attempt is stored as failed', async () => {
  emu.faults.delayNext(5_000, { route: 'POST /v1/responses' });
  const calls = () => emu.stats().requests['POST /v1/responses'] ?? 0;
  const before = calls();
  const client = new AbortController();
  const request = t.postLots(syncLot('Walked away', [`${imageBase}/a.png`], 'gone-1'), { signal: client.signal });
  // Walk away once the work is really under way: the (delayed) OpenAI call has been made.
  await waitFor(async () => calls() > before, { timeoutMs: 10_000, what: 'the sync request to reach OpenAI' });
  client.abort();
  await expect(request).rejects.toMatchObject({ name: 'AbortError' });
  const rows = await waitFor(
    async () => {
      const found = await t.db.query(
        `SELECT j.status, j.error_message FROM batch_jobs j JOIN batch_lots l ON l.batch_job_id = j.id WHERE l.lot_id = 'gone-1'`,
      );
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 3_000, what: 'the walked-away attempt to be stored' },
  );
  expect(rows).toEqual([{ status: 'failed', error_message: 'The client disconnected before the answer was ready' }]);
});
