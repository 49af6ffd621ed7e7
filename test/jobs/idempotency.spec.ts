import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { IdempotencyStore } from '../../src/jobs/idempotency/idempotency.store.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { body, countRows, createBatch, lot, lots } from './jobs-support.js';

/*
 * Idempotency-Key on job creation and cancel, over real HTTP against
 * PostgreSQL, with two API replicas on one database.
 */

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** An image server that holds every request while `hold` is on, and tells when one arrived. */
async function startGatedImageServer() {
  let held: ServerResponse[] = [];
  let holding = false;
  let arrived: (() => void) | undefined;
  const answer = (res: ServerResponse) => res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': PNG.length }).end(PNG);
  const server = createServer((_req, res) => {
    if (!holding) return answer(res);
    held.push(res);
    arrived?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Holds requests from now on; resolves when the first one arrives. */
    hold(): Promise<void> {
      holding = true;
      return new Promise((resolve) => (arrived = resolve));
    },
    release(): void {
      holding = false;
      arrived = undefined;
      for (const res of held) answer(res);
      held = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ENV = { APP_ROLE: 'api', OPENAI_MAX_RETRIES: '0', RATE_LIMIT_BATCH: '1000', RATE_LIMIT_POLLING: '1000' };
let images: Awaited<ReturnType<typeof startGatedImageServer>>;
let emu: RunningEmulator;
let t: TestApp;
let replica: TestApp;
beforeAll(async () => {
  images = await startGatedImageServer();
  emu = await startEmulator({ port: 0, batchDurationMs: 100 });
  t = await startTestApp({ env: ENV, openaiBaseUrl: emu.url });
  replica = await startTestApp({ env: ENV, openaiBaseUrl: emu.url, db: t.db });
});
afterAll(async () => {
  await replica.close();
  await t.close();
  await emu.close();
  await images.close();
});

let seq = 0;
/** A fresh key per test, as an sf-string. */
const newKey = () => `"test-${Date.now()}-${++seq}"`;
const withKey = (key: string) => ({ headers: { 'Idempotency-Key': key } });
const batchBody = (prefix: string) => ({ version: '1.0.0', languages: ['en', 'de'], lots: lots(2, prefix) });
const keyRows = async (): Promise<number> => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys'))[0].n;
const cancel = (app: TestApp, jobId: string, key?: string) =>
  app.fetch(`/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST', signWith: jobId, ...(key ? withKey(key) : {}) });

test('a replay with the same key and body answers the first status and body again and creates nothing', async () => {
  const key = newKey();
  const payload = batchBody('replay');
  const first = await t.postLots(payload, withKey(key));
  expect(first.status).toBe(201);
  expect(first.headers.get('idempotent-replayed')).toBeNull();
  const firstBody = await body(first);
  const stored = await countRows(t.db);

  const again = await t.postLots(payload, withKey(key));
  expect(again.status).toBe(201);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(await body(again)).toEqual(firstBody);
  expect(await countRows(t.db)).toEqual(stored);

  // The other replica knows the key too; the bare form of the same key is the same key.
  const elsewhere = await replica.postLots(payload, withKey(key.slice(1, -1)));
  expect(elsewhere.status).toBe(201);
  expect(elsewhere.headers.get('idempotent-replayed')).toBe('true');
  expect((await body(elsewhere)).job_id).toBe(firstBody.job_id);
  expect(await countRows(t.db)).toEqual(stored);
});

test('the same key with another body → 422 IDEMPOTENCY_KEY_REUSED, nothing stored, the first answer still replays', async () => {
  const key = newKey();
  const first = await body(await t.postLots(batchBody('first'), withKey(key)));
  const stored = await countRows(t.db);

  const other = await replica.postLots(batchBody('other'), withKey(key));
  expect(other.status).toBe(422);
  expect(await body(other)).toEqual({
    error: 'Unprocessable content',
    message: 'This Idempotency-Key was already used for another request (another method, path or body)',
    code: 'IDEMPOTENCY_KEY_REUSED',
  });
  expect(await countRows(t.db)).toEqual(stored);
  expect((await body(await t.postLots(batchBody('first'), withKey(key)))).job_id).toBe(first.job_id);
});

test('while the first request is in flight a duplicate gets 409 with Retry-After; once it finished the duplicate replays it', async () => {
  const key = newKey();
  const payload = { version: '1.0.0', languages: ['en'], lots: [lot('sync-idem', { images: [{ url: `${images.base}/car.png` }] })] };
  const arrived = images.hold();
  const firstPromise = t.postLots(payload, withKey(key));
  await arrived; // the first request is checking its image, which does not answer yet
  const before = await countRows(t.db);

  for (const app of [t, replica]) {
    const duplicate = await app.postLots(payload, withKey(key));
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('retry-after')).toBe('1');
    expect(await body(duplicate)).toEqual({
      error: 'Conflict',
      message: 'A request with this Idempotency-Key is still being processed; retry later',
      code: 'IDEMPOTENCY_KEY_IN_FLIGHT',
      details: { retry_after: 1 },
    });
  }
  expect(await countRows(t.db)).toEqual(before);

  images.release();
  const first = await firstPromise;
  expect(first.status).toBe(200);
  const firstBody = await body(first);
  expect(firstBody).toMatchObject({ processing_mode: 'synchronous', lots: [{ lot_id: 'sync-idem', status: 'completed' }] });
  const responses = emu.stats().requests['POST /v1/responses'];
  const stored = await countRows(t.db);

  const replayed = await replica.postLots(payload, withKey(key));
  expect(replayed.status).toBe(200);
  expect(replayed.headers.get('idempotent-replayed')).toBe('true');
  expect(await body(replayed)).toEqual(firstBody);
  expect(await countRows(t.db)).toEqual(stored);
  expect(emu.stats().requests['POST /v1/responses']).toBe(responses); // OpenAI was not asked again
});

test('a failed first attempt frees the key: the same key then works', async () => {
  const key = newKey();
  const rowsBefore = await keyRows();
  const invalid = await t.postLots({ version: '1.0.0', languages: ['en'], lots: [{ images: [] }, { images: [] }] }, withKey(key));
  expect(invalid.status).toBe(400);
  expect((await body(invalid)).code).toBe('VALIDATION_FAILED');
  expect(await keyRows()).toBe(rowsBefore);

  const valid = await t.postLots(batchBody('after-failure'), withKey(key));
  expect(valid.status).toBe(201);
  expect(valid.headers.get('idempotent-replayed')).toBeNull();
  expect(await keyRows()).toBe(rowsBefore + 1);
});

test('cancel with a key replays its first answer instead of "cannot be cancelled"; another job with that key → 422', async () => {
  const jobId = await createBatch(t);
  const key = newKey();
  const first = await cancel(t, jobId, key);
  expect(first.status).toBe(200);
  const firstBody = await body(first);
  expect(firstBody).toMatchObject({ job_id: jobId, status: 'cancelled' });

  const again = await cancel(replica, jobId, key);
  expect(again.status).toBe(200);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(await body(again)).toEqual(firstBody);
  expect((await cancel(t, jobId)).status).toBe(400); // without the key: the job is already cancelled

  const otherJob = await createBatch(t);
  expect((await cancel(t, otherJob, key)).status).toBe(422);
  expect((await t.db.query<{ status: string }>('SELECT status FROM batch_jobs WHERE id = $1', [otherJob]))[0].status).toBe('pending');
});

test('an expired key counts as absent, and expired rows are purged', async () => {
  const key = newKey();
  const first = await body(await t.postLots(batchBody('expiring'), withKey(key)));
  await t.db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE idempotency_key = $1`, [key.slice(1, -1)]);

  // Another body would be 422 while the key lived; expired, it is a new key and a new job.
  const other = await t.postLots(batchBody('after-expiry'), withKey(key));
  expect(other.status).toBe(201);
  expect(other.headers.get('idempotent-replayed')).toBeNull();
  expect((await body(other)).job_id).not.toBe(first.job_id);

  await t.db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE idempotency_key = $1`, [key.slice(1, -1)]);
  const rows = await keyRows();
  expect(await t.app.get(IdempotencyStore).purgeExpired(Date.now(), 1000)).toBe(1);
  expect(await keyRows()).toBe(rows - 1);
});

test('keys are per client: another client holding the same key does not affect this one', async () => {
  const key = newKey();
  await t.db.query(`INSERT INTO api_clients (id, name) VALUES ('other-client', 'Another tenant') ON CONFLICT DO NOTHING`);
  await t.db.query(
    `INSERT INTO idempotency_keys (client_id, idempotency_key, fingerprint, state, locked_until, created_at, expires_at)
     VALUES ('other-client', $1, '\\x00', 'in_flight', now() + interval '1 hour', now(), now() + interval '1 day')`,
    [key.slice(1, -1)],
  );
  const mine = await t.postLots(batchBody('per-client'), withKey(key));
  expect(mine.status).toBe(201);
  expect(mine.headers.get('idempotent-replayed')).toBeNull();
  const rows = await t.db.query<{ client_id: string }>(
    'SELECT client_id FROM idempotency_keys WHERE idempotency_key = $1 ORDER BY client_id',
    [key.slice(1, -1)],
  );
  expect(rows.map((row) => row.client_id)).toEqual(['default', 'other-client']);
});

test('a malformed key → 400 VALIDATION_FAILED before anything runs; quoted keys with escapes are accepted', async () => {
  const stored = await countRows(t.db);
  for (const bad of ['""', `"${'x'.repeat(256)}"`, 'two words', '"unterminated', '"a", "b"', '"caf\u00e9"', 'back\\slash', '"x";']) {
    const res = await t.postLots(batchBody('bad-key'), withKey(bad));
    expect([bad, res.status]).toEqual([bad, 400]);
    expect((await body(res)).code).toBe('VALIDATION_FAILED');
  }
  expect(await countRows(t.db)).toEqual(stored);

  const escaped = `"quote\\"and\\\\backslash-${++seq}"`;
  expect((await t.postLots(batchBody('escaped'), withKey(escaped))).status).toBe(201);
  const [row] = await t.db.query<{ idempotency_key: string }>(
    `SELECT idempotency_key FROM idempotency_keys WHERE idempotency_key LIKE 'quote%'`,
  );
  expect(row.idempotency_key).toBe(`quote"and\\backslash-${seq}`);
  expect((await t.postLots(batchBody('max'), withKey(`"${'k'.repeat(255)}"`))).status).toBe(201);
});

test('a first attempt whose lease ran out (its process died) is taken over by the same request, not by another one', async () => {
  const key = newKey();
  const payload = batchBody('takeover');
  const fingerprint = createHash('sha256')
    .update(`POST\n/api/v1/generate-descriptions\n${JSON.stringify(payload)}`)
    .digest();
  const died = async (lockedUntil: string) =>
    t.db.query(
      `INSERT INTO idempotency_keys (client_id, idempotency_key, fingerprint, state, locked_until, created_at, expires_at)
       VALUES ('default', $1, $2, 'in_flight', now() + $3::interval, now(), now() + interval '1 day')
       ON CONFLICT (client_id, idempotency_key) DO UPDATE SET locked_until = EXCLUDED.locked_until`,
      [key.slice(1, -1), fingerprint, lockedUntil],
    );
  await died('1 hour');
  expect((await t.postLots(payload, withKey(key))).status).toBe(409); // the lease still holds
  await died('-1 second');
  expect((await t.postLots(batchBody('takeover-other'), withKey(key))).status).toBe(422);
  const taken = await t.postLots(payload, withKey(key));
  expect(taken.status).toBe(201);
  expect((await replica.postLots(payload, withKey(key))).headers.get('idempotent-replayed')).toBe('true');
});
