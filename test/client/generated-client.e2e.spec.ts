/**
 * The generated client (openapi-fetch over src/client/generated/openapi.d.ts) against the real app over loopback
 * HTTP, with each signature scheme: submit, poll, list, results, download, cancel, and the API's errors as typed
 * GenerationApiErrors. The app runs the API role only, so jobs stay where the test puts them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientsService } from '../../src/auth/clients/clients.service.js';
import {
  GenerationApiError,
  GenerationClient,
  JobNotCompletedError,
  JobOutcomeError,
  type ClientAuth,
  type GenerateRequest,
} from '../../src/client/generation-client.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { ed25519Pair } from '../support/v2-signing.js';
import { finishJob, lots } from '../jobs/jobs-support.js';

let t: TestApp;
let dir: string;

beforeAll(async () => {
  t = await startTestApp({ env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000' } });
  dir = await mkdtemp(join(tmpdir(), 'generated-client-'));
  const clients = t.app.get(ClientsService);
  const hmac = await clients.create('Generated client, HMAC');
  const pair = ed25519Pair();
  const ed = await clients.create('Generated client, Ed25519', {
    algorithm: 'ed25519',
    publicKey: Buffer.from(pair.publicKeyBase64, 'base64'),
  });
  auths.hmac = { keyId: hmac.key_id, secret: hmac.secret! };
  auths.ed25519 = { keyId: ed.key_id, privateKey: pair.privateKey };
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

/** Filled in beforeAll (the v2 keys are issued by the running app). */
const auths: Record<string, ClientAuth> = { seed: TEST_SHARED_KEY };
const schemes = [
  ['seed scheme (SHARED_KEY)', 'seed'],
  ['v2 HMAC', 'hmac'],
  ['v2 Ed25519', 'ed25519'],
];

const request = (prefix: string, count = 3): GenerateRequest => ({
  version: '1.0.0',
  languages: ['en', 'de'],
  lots: lots(count, prefix),
});

describe.each(schemes)('with the %s', (name, scheme) => {
  const prefix = name.replace(/\W+/g, '-');
  const auth = () => auths[scheme];

  test('submit, poll, list, cancel: every answer typed from the document', async () => {
    const client = new GenerationClient(t.url, auth());
    const job = await client.submit(request(prefix));
    expect(job).toMatchObject({ status: 'accepted', total_lots: 3, languages: ['en', 'de'] });

    const status = await client.status(job.job_id);
    expect(status).toMatchObject({ job_id: job.job_id, status: 'pending', progress: { total_lots: 3, processed_lots: 0, failed_lots: 0 } });

    const list = await client.list({ limit: 50 });
    expect(list.jobs.map((item) => item.id)).toContain(job.job_id);
    const pending = await client.list({ status: 'pending', limit: 50 });
    expect(pending.jobs.every((item) => item.status === 'pending')).toBe(true);

    await expect(client.results(job.job_id)).rejects.toBeInstanceOf(JobNotCompletedError);
    await expect(client.download(job.job_id, join(dir, `${prefix}-early.json`))).rejects.toBeInstanceOf(JobNotCompletedError);

    const cancelled = await client.cancel(job.job_id);
    expect(cancelled).toMatchObject({ job_id: job.job_id, status: 'cancelled' });
    const last = await client.watch(job.job_id, { intervalMs: 10, timeoutMs: 5_000 });
    expect(last.status).toBe('cancelled');
    const outcome = await client.waitForResults(job.job_id, { intervalMs: 10 }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(JobOutcomeError);
    expect(outcome).toMatchObject({ outcome: 'cancelled', jobId: job.job_id });

    const again = await client.cancel(job.job_id).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(GenerationApiError);
    expect((again as GenerationApiError).status).toBe(400);
    expect((again as GenerationApiError).body).toMatchObject({
      code: 'JOB_NOT_CANCELLABLE',
      message: expect.any(String),
      error: expect.any(String),
    });
  });

  test('a completed job: waitForResults and a streamed download of the same document', async () => {
    const client = new GenerationClient(t.url, auth());
    const job = await client.submit(request(`${prefix}-done`));
    await finishJob(t.db, job.job_id);
    const results = await client.waitForResults(job.job_id, { intervalMs: 10, timeoutMs: 5_000 });
    expect(results.status).toBe('completed');
    expect(results.results.lots.map((lot) => lot.lot_id)).toEqual([`${prefix}-done-1`, `${prefix}-done-2`, `${prefix}-done-3`]);
    const file = join(dir, `${prefix}.json`);
    const bytes = await client.download(job.job_id, file);
    const text = await readFile(file, 'utf8');
    expect(Buffer.byteLength(text)).toBe(bytes);
    expect(JSON.parse(text)).toEqual(results);
  });

  test("the API's refusals arrive as GenerationApiError with {error, message, code}", async () => {
    const client = new GenerationClient(t.url, auth());
    const unknown = await client.status('00000000-0000-4000-8000-000000000000').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(GenerationApiError);
    expect(unknown).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    const invalid = await client.submit({ ...request(`${prefix}-bad`), languages: ['xx'] }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(GenerationApiError);
    expect(invalid).toMatchObject({ status: 422, body: { code: 'UNSUPPORTED_LANGUAGE', details: { unsupported: ['xx'] } } });
  });
});

test('a wrong key is refused, not silently unsigned', async () => {
  const client = new GenerationClient(t.url, 'a-wrong-shared-key-of-at-least-32-characters');
  await expect(client.list()).rejects.toMatchObject({ status: 403, code: 'INVALID_SIGNATURE' });
});

test('the raw typed client reaches every route by path; a path the document lacks does not compile', async () => {
  const client = new GenerationClient(t.url, TEST_SHARED_KEY);
  const job = await client.submit(request('raw'));
  const { data, response } = await client.api.GET('/api/v1/jobs/{job_id}/status', { params: { path: { job_id: job.job_id } } });
  expect(response.status).toBe(200);
  expect(data?.progress.total_lots).toBe(3);
  // @ts-expect-error -- not a route of the document: the generated `paths` refuse it at compile time
  const wrong = await client.api.GET('/api/v1/batch-state/{job_id}', { params: { path: { job_id: job.job_id } } });
  expect(wrong.response.status).toBe(404);
});
