import { createHmac, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ClientsService } from '../../src/auth/clients/clients.service.js';
import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { json, startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { ManualClock } from '../support/manual-clock.js';
import { waitFor } from '../support/wait.js';
import { countRows, lot } from '../jobs/jobs-support.js';
import { ed25519Pair, hmacKey, send as sendRaw, signedRequest, v2Fetch as v2FetchRaw, type TestKey } from '../support/v2-signing.js';

/*
 * Issue 11 end to end: two API replicas on one database, two clients of
 * their own (HMAC and Ed25519) beside the default SHARED_KEY client.
 */
let db: TestDatabase;
let one: TestApp;
let two: TestApp;
let clients: ClientsService;
let a: { clientId: string; key: TestKey; webhookSecret: string };
let b: { clientId: string; key: TestKey };
let receiver: LoopbackServer;
let receiverUrl: string;

const batch = (prefix: string, extra: Record<string, unknown> = {}) => ({
  version: '1.0.0',
  languages: ['en'],
  lots: [
    lot(`${prefix}-1`, { images: [{ url: 'http://127.0.0.1:9/a.jpg' }] }),
    lot(`${prefix}-2`, { images: [{ url: 'http://127.0.0.1:9/b.jpg' }] }),
  ],
  ...extra,
});

beforeAll(async () => {
  receiver = await startLoopbackServer((_request, response) => response.writeHead(200).end('ok'));
  receiverUrl = `${receiver.url}/hook`;

  db = await createTestDatabase();
  // Keys are read fresh on every request, so a revocation on one replica is seen at once by the other.
  // API replicas only: no worker touches the jobs until the webhook test starts one, so a job stays cancellable.
  const env = { AUTH_KEY_CACHE_MS: '0', APP_ROLE: 'api', RATE_LIMIT_BATCH: '100' };
  // One clock for both replicas, at today's time (signatures are made with the real time) and standing still: a
  // rate-limit window never ends in the middle of a test.
  const clock = new ManualClock(Date.now());
  one = await startTestApp({ db, env, clock });
  two = await startTestApp({ db, env, clock });
  clients = one.app.get(ClientsService);

  const issuedA = await clients.create('Auction house A');
  a = { clientId: issuedA.client_id, key: hmacKey(issuedA.key_id, issuedA.secret!), webhookSecret: issuedA.webhook_secret };
  const pair = ed25519Pair();
  const issuedB = await clients.create('Insurer B', { algorithm: 'ed25519', publicKey: Buffer.from(pair.publicKeyBase64, 'base64') });
  expect(issuedB.secret).toBeUndefined();
  b = { clientId: issuedB.client_id, key: { keyId: issuedB.key_id, algorithm: 'ed25519', key: pair.privateKey } };
});
afterAll(async () => {
  await two?.close();
  await one?.close();
  await db?.drop();
  await receiver?.close();
});

/** Every answer of the API is checked against the OpenAPI document (the codes of the v2 refusals included). */
const replicaOf = (base: string) => (base === one.url ? one : two);
const send = async (base: string, path: string, request: Parameters<typeof sendRaw>[2]) =>
  replicaOf(base).conform(request.method, path, await sendRaw(base, path, request));
const v2Fetch = async (base: string, key: TestKey, path: string, request: Parameters<typeof v2FetchRaw>[3] = {}) =>
  replicaOf(base).conform(
    request.method ?? (request.body === undefined ? 'GET' : 'POST'),
    path,
    await v2FetchRaw(base, key, path, request),
  );

async function createJob(t: TestApp, key: TestKey, prefix: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await v2Fetch(t.url, key, '/api/v1/generate-descriptions', { body: batch(prefix, extra) });
  const answer = await json(res);
  expect({ status: res.status, answer }).toMatchObject({ status: 201 });
  return answer.job_id as string;
}

describe('signature v2 (RFC 9421)', () => {
  test('an HMAC client and an Ed25519 client are accepted on either replica, and own their jobs', async () => {
    const jobA = await createJob(one, a.key, 'a');
    const jobB = await createJob(two, b.key, 'b');
    const [rowA] = await db.query<{ client_id: string }>('SELECT client_id FROM batch_jobs WHERE id = $1', [jobA]);
    const [rowB] = await db.query<{ client_id: string }>('SELECT client_id FROM batch_jobs WHERE id = $1', [jobB]);
    expect([rowA.client_id, rowB.client_id]).toEqual([a.clientId, b.clientId]);

    const status = await v2Fetch(two.url, a.key, `/api/v1/batch-status/${jobA}`);
    expect(status.status).toBe(200);
    expect((await json(status)).job_id).toBe(jobA);
    const list = await v2Fetch(one.url, b.key, '/api/v1/batch-jobs?limit=50');
    expect(list.status).toBe(200);
    expect((await json(list)).jobs.map((job: { id: string }) => job.id)).toEqual([jobB]);
  });

  test('a replay, an old created, a body changed after signing, a moved signature and unknown keys are refused, and nothing is stored', async () => {
    const path = '/api/v1/generate-descriptions';
    const first = signedRequest(a.key, path, { body: batch('replay') });
    expect((await send(one.url, path, first)).status).toBe(201);
    const before = await countRows(db);

    const replay = await send(two.url, path, first);
    expect({ status: replay.status, code: (await json(replay)).code }).toEqual({ status: 401, code: 'SIGNATURE_REPLAYED' });

    const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
    const old = await send(one.url, path, signedRequest(a.key, path, { body: batch('old'), sign: { created: tenMinutesAgo } }));
    expect({ status: old.status, code: (await json(old)).code }).toEqual({ status: 401, code: 'SIGNATURE_EXPIRED' });
    expect(old.headers.get('accept-signature')).toContain('"@method"');

    const tampered = signedRequest(a.key, path, { body: batch('tamper', { languages: ['en'] }) });
    tampered.body = Buffer.from(JSON.stringify(batch('tamper', { languages: ['en', 'de', 'fr', 'es', 'it'] })));
    const changed = await send(one.url, path, tampered);
    expect({ status: changed.status, code: (await json(changed)).code }).toEqual({ status: 403, code: 'CONTENT_DIGEST_MISMATCH' });

    // The client signed a status request; the same headers sent to cancel the job must not work.
    const [{ id: jobId }] = await db.query<{ id: string }>('SELECT id FROM batch_jobs WHERE client_id = $1 LIMIT 1', [a.clientId]);
    const statusSignature = signedRequest(a.key, `/api/v1/batch-status/${jobId}`);
    const moved = await send(one.url, `/api/v1/batch-jobs/${jobId}/cancel`, { ...statusSignature, method: 'POST' });
    expect({ status: moved.status, code: (await json(moved)).code }).toEqual({ status: 403, code: 'INVALID_SIGNATURE' });

    const stranger = await v2Fetch(one.url, { ...a.key, keyId: 'key_nobody' }, path, { body: batch('stranger') });
    expect({ status: stranger.status, code: (await json(stranger)).code }).toEqual({ status: 403, code: 'UNKNOWN_KEY' });
    const unsigned = await fetch(one.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch('x')),
    });
    expect({ status: unsigned.status, code: (await json(unsigned)).code }).toEqual({ status: 401, code: 'MISSING_SIGNATURE' });

    expect(await countRows(db)).toEqual(before);
  });

  test('a revoked key is refused on every replica; a rotated key overlaps with the old one', async () => {
    const issued = await clients.create('Short-lived');
    const old = hmacKey(issued.key_id, issued.secret!);
    expect((await v2Fetch(two.url, old, '/api/v1/batch-jobs')).status).toBe(200);
    const rotated = await clients.rotate(issued.client_id);
    const fresh = hmacKey(rotated.key_id, rotated.secret!);
    expect((await v2Fetch(one.url, old, '/api/v1/batch-jobs')).status).toBe(200);
    expect((await v2Fetch(two.url, fresh, '/api/v1/batch-jobs')).status).toBe(200);
    await clients.revoke(issued.key_id);
    const refused = await v2Fetch(two.url, old, '/api/v1/batch-jobs');
    expect({ status: refused.status, code: (await json(refused)).code }).toEqual({ status: 403, code: 'UNKNOWN_KEY' });
    expect((await v2Fetch(one.url, fresh, '/api/v1/batch-jobs')).status).toBe(200);
  });
});

describe('isolation', () => {
  test("for every route, client B cannot see or touch client A's job: 404 exactly like an unknown job", async () => {
    const jobId = await createJob(one, a.key, 'iso', { lots: [lot('iso-1', { webhook: receiverUrl }), lot('iso-2')] });
    const unknown = randomUUID();
    const routes: { method: string; path: (id: string) => string; body?: unknown }[] = [
      { method: 'GET', path: (id) => `/api/v1/batch-status/${id}` },
      { method: 'GET', path: (id) => `/api/v1/batch-results/${id}` },
      { method: 'GET', path: (id) => `/api/v1/batch-jobs/${id}/download` },
      { method: 'GET', path: (id) => `/api/v1/batch-jobs/${id}/webhook-deliveries` },
      { method: 'POST', path: (id) => `/api/v1/batch-jobs/${id}/webhooks/redeliver`, body: { all: true } },
      { method: 'POST', path: (id) => `/api/v1/batch-jobs/${id}/cancel`, body: {} },
      { method: 'PATCH', path: (id) => `/api/v1/batch-jobs/${id}`, body: { metadata: { taken: 'yes' } } },
      { method: 'POST', path: (id) => `/api/v1/batch-jobs/${id}/pause`, body: {} },
      { method: 'POST', path: (id) => `/api/v1/batch-jobs/${id}/resume`, body: {} },
      { method: 'POST', path: (id) => `/api/v1/batch-jobs/${id}/retry`, body: {} },
      { method: 'DELETE', path: (id) => `/api/v1/batch-jobs/${id}` },
    ];
    for (const route of routes) {
      for (const key of [b.key]) {
        const foreign = await v2Fetch(two.url, key, route.path(jobId), { method: route.method, body: route.body });
        const missing = await v2Fetch(two.url, key, route.path(unknown), { method: route.method, body: route.body });
        const [foreignBody, missingBody] = [await json(foreign), await json(missing)];
        expect({ route: route.path(':id'), status: foreign.status, code: foreignBody.code }).toEqual({
          route: route.path(':id'),
          status: 404,
          code: missingBody.code,
        });
        expect(missing.status).toBe(404);
        expect(foreignBody.message.replace(jobId, ':id')).toBe(missingBody.message.replace(unknown, ':id'));
      }
      // The seed scheme's default client is another client too.
      const seed = await one.fetch(route.path(jobId), {
        method: route.method,
        signWith: jobId,
        ...(route.body === undefined ? {} : { body: JSON.stringify(route.body), headers: { 'content-type': 'application/json' } }),
      });
      expect({ route: route.path(':id'), status: seed.status }).toEqual({ route: route.path(':id'), status: 404 });
    }
    const [row] = await db.query<{ status: string; paused: boolean; metadata: object }>(
      'SELECT status, paused, metadata FROM batch_jobs WHERE id = $1',
      [jobId],
    );
    expect(row).toEqual({ status: 'pending', paused: false, metadata: {} });

    const seedList = await one.fetch('/api/v1/batch-jobs?limit=100', { signWith: 'limit=100' });
    const ids = (await json(seedList)).jobs.map((job: { id: string }) => job.id);
    const foreignIds = await db.query<{ id: string }>('SELECT id FROM batch_jobs WHERE client_id <> $1', ['default']);
    expect(foreignIds.length).toBeGreaterThan(0);
    for (const { id } of foreignIds) expect(ids).not.toContain(id);
  });

  test("a client's seed scheme is off until turned on, and then signs with its own key (X-Key-Id), never SHARED_KEY", async () => {
    const jobId = await createJob(one, a.key, 'seed');
    const seedHeaders = (key: Buffer | string) => ({
      'X-Key-Id': a.key.keyId,
      'X-Signature': 'sha256=' + createHmac('sha256', key).update(jobId).digest('hex'),
    });
    const off = await fetch(`${one.url}/api/v1/batch-status/${jobId}`, { headers: seedHeaders(a.key.key as Buffer) });
    expect({ status: off.status, code: (await json(off)).code }).toEqual({ status: 403, code: 'SIGNATURE_SCHEME_DISABLED' });
    await clients.setLegacy(a.clientId, true);
    try {
      expect((await fetch(`${two.url}/api/v1/batch-status/${jobId}`, { headers: seedHeaders(a.key.key as Buffer) })).status).toBe(200);
      const shared = await fetch(`${two.url}/api/v1/batch-status/${jobId}`, { headers: seedHeaders(TEST_SHARED_KEY) });
      expect(shared.status).toBe(403);
    } finally {
      await clients.setLegacy(a.clientId, false);
    }
  });

  test("turning the default client's seed scheme off refuses SHARED_KEY signatures", async () => {
    await clients.setLegacy('default', false);
    try {
      const res = await one.fetch('/api/v1/batch-jobs', { signWith: '' });
      expect({ status: res.status, code: (await json(res)).code }).toEqual({ status: 403, code: 'SIGNATURE_SCHEME_DISABLED' });
    } finally {
      await clients.setLegacy('default', true);
    }
    expect((await one.fetch('/api/v1/batch-jobs', { signWith: '' })).status).toBe(200);
  });
});

describe('webhooks per client', () => {
  test("A's webhooks verify with A's webhook_secret (both during a rotation) and not with SHARED_KEY", async () => {
    const verify = (secret: string, headers: IncomingHttpHeaders, raw: string) => {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const expected = createHmac('sha256', key)
        .update(`${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${raw}`)
        .digest('base64');
      return String(headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
    };
    const rotated = await clients.rotate(a.clientId, { overlapSeconds: 3600 });
    const aNow = hmacKey(rotated.key_id, rotated.secret!);
    const jobId = await createJob(one, aNow, 'hook', { lots: [lot('hook-1', { webhook: receiverUrl }), lot('hook-2')] });
    receiver.requests.length = 0;
    const cancelled = await v2Fetch(two.url, aNow, `/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    // A worker process sends the cancelled job's webhook, signed with the keys of the job's client.
    const worker = await startTestApp({ db, env: { APP_ROLE: 'worker', WORKER_POLL_INTERVAL: '3600' } });
    try {
      await worker.app.get(WorkerTickService).tick();
      await waitFor(async () => receiver.requests.length > 0, { timeoutMs: 10_000, what: "A's webhook" });
    } finally {
      await worker.close();
    }
    const [{ headers, body }] = receiver.requests;
    const raw = body.toString('utf8');
    expect(JSON.parse(raw)).toMatchObject({ job_id: jobId, event: 'batch_job_cancelled' });
    expect(String(headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(a.webhookSecret, headers, raw)).toBe(true);
    expect(verify(rotated.webhook_secret, headers, raw)).toBe(true);
    expect(verify('whsec_' + Buffer.from(TEST_SHARED_KEY).toString('base64'), headers, raw)).toBe(false);
    expect(headers['x-signature']).toBeUndefined();
  });
});

describe('rate limits per client across replicas', () => {
  test('a client exhausts its polling budget across both replicas while another is unaffected', async () => {
    const issued = await clients.create('Busy poller');
    const busy = hmacKey(issued.key_id, issued.secret!);
    await clients.setLimits(issued.client_id, { polling: 6 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await v2Fetch(i % 2 ? two.url : one.url, busy, '/api/v1/batch-jobs')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    const limited = await v2Fetch(two.url, busy, '/api/v1/batch-jobs');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('ratelimit-policy')).toBe('"polling";q=6;w=60');
    const other = await v2Fetch(one.url, b.key, '/api/v1/batch-jobs');
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-policy')).toBe('"polling";q=1000;w=60');
  });
});

describe('Idempotency-Key per client', () => {
  test('the same key from two clients makes two jobs; a replay by one returns its job and stores nothing', async () => {
    const headers = { 'Idempotency-Key': '"order-2026-12-02-1"' };
    const first = await v2Fetch(one.url, a.key, '/api/v1/generate-descriptions', { body: batch('idem'), headers });
    const other = await v2Fetch(two.url, b.key, '/api/v1/generate-descriptions', { body: batch('idem'), headers });
    expect([first.status, other.status]).toEqual([201, 201]);
    const [jobA, jobB] = [(await json(first)).job_id, (await json(other)).job_id];
    expect(jobA).not.toBe(jobB);
    const before = await countRows(db);
    const again = await v2Fetch(two.url, a.key, '/api/v1/generate-descriptions', { body: batch('idem'), headers });
    expect({ status: again.status, job: (await json(again)).job_id }).toEqual({ status: 201, job: jobA });
    expect(await countRows(db)).toEqual(before);
  });
});
