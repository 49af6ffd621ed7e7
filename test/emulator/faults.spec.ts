import OpenAI, { APIConnectionError, InternalServerError } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { RunningEmulator } from '../../src/emulator/emulator.js';
import {
  API_KEY,
  batchLine,
  createBatch,
  isTerminal,
  pollBatch,
  readJsonl,
  startTestEmulator,
  textRequest,
  uploadJsonl,
} from './helpers.js';
import { ManualClock } from '../support/manual-clock.js';

let emu: RunningEmulator;
let client: OpenAI;

beforeAll(async () => {
  ({ emu, client } = await startTestEmulator({ batchDurationMs: 150 }));
});
afterEach(() => emu.faults.reset());
afterAll(() => emu.close());

const lots = (n: number) => Array.from({ length: n }, (_, i) => batchLine(`lot-${i}`, textRequest(`lot ${i}`, 'o4-mini')));
const input = 'Additional information: scratch';

describe('HTTP faults', () => {
  it('429 with retry-after, then success: the SDK retries once and succeeds', async () => {
    emu.faults.failNext(429, { route: 'POST /v1/responses', retryAfterSeconds: 1 });
    const raw = await fetch(`${emu.url}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'o4-mini', input }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');

    emu.faults.failNext(429, { route: 'POST /v1/responses', retryAfterSeconds: 1 });
    const before = emu.stats();
    const retrying = new OpenAI({ apiKey: API_KEY, baseURL: emu.url, maxRetries: 1 });
    const started = Date.now();
    const response = await retrying.responses.create({ model: 'o4-mini', input });
    expect(response.status).toBe('completed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // honoured retry-after: 1
    const after = emu.stats();
    expect(after.requests['POST /v1/responses'] - before.requests['POST /v1/responses']).toBe(2);
    expect(after.responsesCreated - before.responsesCreated).toBe(1);
    expect(after.faultsInjected - before.faultsInjected).toBe(1);
  });

  it('500 for the next N calls of one route only, in OpenAI error shape', async () => {
    emu.faults.failNext(500, { route: '/v1/batches', count: 2 });
    await expect(client.responses.create({ model: 'o4-mini', input })).resolves.toMatchObject({ object: 'response', status: 'completed' });
    for (let i = 0; i < 2; i++) {
      const error = (await client.batches.list().catch((e: unknown) => e)) as InternalServerError;
      expect(error).toBeInstanceOf(InternalServerError);
      expect(error.error).toEqual({ message: expect.any(String), type: 'server_error', param: null, code: null });
    }
    await expect(client.batches.list()).resolves.toMatchObject({ data: expect.any(Array) });
  });

  it('502 and 503 on any route', async () => {
    emu.faults.add([
      { kind: 'http', status: 502 },
      { kind: 'http', status: 503 },
    ]);
    await expect(client.batches.list()).rejects.toMatchObject({ status: 502 });
    await expect(client.files.list()).rejects.toMatchObject({ status: 503 });
    await expect(client.files.list()).resolves.toMatchObject({ data: expect.any(Array) });
  });

  it('slow answers for the next N calls', async () => {
    emu.faults.delayNext(300, { route: 'POST /v1/responses' });
    const slowStart = Date.now();
    await client.responses.create({ model: 'o4-mini', input });
    expect(Date.now() - slowStart).toBeGreaterThanOrEqual(290);
    const fastStart = Date.now();
    await client.responses.create({ model: 'o4-mini', input });
    expect(Date.now() - fastStart).toBeLessThan(250);

    emu.faults.delayNext(500, { route: 'POST /v1/responses' });
    await expect(client.responses.create({ model: 'o4-mini', input }, { timeout: 100 })).rejects.toBeInstanceOf(APIConnectionError); // the client gave up (a timeout)
  });

  it('a slow answer is a lost answer: the work is done even when the client times out', async () => {
    const file = await uploadJsonl(client, lots(1));
    const before = emu.stats().batchesCreated;
    emu.faults.delayNext(400, { route: 'POST /v1/batches' });
    const create = client.batches.create(
      { input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h', metadata: { job_id: 'lost' } },
      { timeout: 100 },
    );
    await expect(create).rejects.toBeInstanceOf(APIConnectionError);
    expect(emu.stats().batchesCreated).toBe(before + 1);
    expect((await client.batches.list({ limit: 1 })).data[0].metadata).toEqual({ job_id: 'lost' });
  });

  it('the admin route reads, adds and resets faults without auth', async () => {
    const admin = `${emu.url}/__emulator/faults`;
    const post = await fetch(admin, {
      method: 'POST',
      body: JSON.stringify({ kind: 'http', status: 503, count: 3, route: 'GET /v1/batches' }),
    });
    expect(post.status).toBe(200);
    const state = (await (await fetch(admin)).json()) as { data: unknown[] };
    expect(state.data).toEqual([{ kind: 'http', status: 503, count: 3, route: 'GET /v1/batches' }]);
    await expect(client.batches.list()).rejects.toMatchObject({ status: 503 });
    await fetch(admin, { method: 'DELETE' });
    await expect(client.batches.list()).resolves.toMatchObject({ data: expect.any(Array) });
    const bad = await fetch(admin, { method: 'POST', body: JSON.stringify({ kind: 'http', status: 418 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('status');
  });
});

describe('stuck batches (on a manual clock: time moves past the batch duration without waiting)', () => {
  const DURATION_MS = 150;
  const clock = new ManualClock();
  let stuckEmu: RunningEmulator;
  let stuckClient: OpenAI;
  beforeAll(async () => {
    ({ emu: stuckEmu, client: stuckClient } = await startTestEmulator({ batchDurationMs: DURATION_MS, clock }));
  });
  afterEach(() => stuckEmu.faults.reset());
  afterAll(() => stuckEmu.close());

  /** Moves the clock 5 ms at a time until `done` holds for the batch (bounded by 20 batch durations). */
  async function advanceUntil(id: string, done: (b: Batch) => boolean): Promise<Batch> {
    for (let elapsed = 0; elapsed <= 20 * DURATION_MS; elapsed += 5) {
      const batch = await stuckClient.batches.retrieve(id);
      if (done(batch)) return batch;
      clock.advance(5);
    }
    throw new Error(`batch ${id} never reached the expected state`);
  }

  /** Moves the clock ten batch durations on, letting the engine run whatever comes due. */
  async function longAfter(): Promise<void> {
    for (let elapsed = 0; elapsed < 10 * DURATION_MS; elapsed += 5) {
      clock.advance(5);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('stuck in_progress (only the batch whose metadata matches), and cancel still works', async () => {
    stuckEmu.faults.batch({ match: { stage: 'translation' }, stuck: 'in_progress' });
    const vision = await createBatch(stuckClient, lots(6), { job_id: 'j1', stage: 'vision' });
    const translation = await createBatch(stuckClient, lots(6), { job_id: 'j1', stage: 'translation' });
    expect((await advanceUntil(vision.id, isTerminal)).status).toBe('completed');
    await advanceUntil(translation.id, (b) => b.request_counts?.completed === 3);
    await longAfter(); // well past its 150 ms duration
    expect(clock.pending).toBe(0); // nothing left scheduled: it can never move on
    const stuck: Batch = await stuckClient.batches.retrieve(translation.id);
    expect(stuck.status).toBe('in_progress');
    expect(stuck.request_counts).toEqual({ total: 6, completed: 3, failed: 0 });
    await stuckClient.batches.cancel(translation.id);
    const cancelled = await advanceUntil(translation.id, isTerminal);
    expect(cancelled.status).toBe('cancelled');
    expect(await readJsonl(stuckClient, cancelled.output_file_id as string)).toHaveLength(3);
  });

  it('stuck finalizing', async () => {
    stuckEmu.faults.batch({ stuck: 'finalizing' });
    const batch = await createBatch(stuckClient, lots(3));
    await advanceUntil(batch.id, (b) => b.status === 'finalizing');
    await longAfter();
    expect(clock.pending).toBe(0);
    expect((await stuckClient.batches.retrieve(batch.id)).status).toBe('finalizing');
  });
});

describe('batch faults', () => {
  it('token_limit_exceeded and injected validation failure end failed with errors.data', async () => {
    emu.faults.batch({ fail: 'token_limit_exceeded' });
    const full = await pollBatch(client, (await createBatch(client, lots(2))).id, isTerminal);
    expect(full.status).toBe('failed');
    expect(full.errors?.data).toEqual([
      {
        code: 'token_limit_exceeded',
        message: expect.stringContaining('Enqueued token limit reached for o4-mini'),
        param: null,
        line: null,
      },
    ]);

    emu.faults.batch({ fail: 'validation' });
    const invalid = await pollBatch(client, (await createBatch(client, lots(2))).id, isTerminal);
    expect(invalid.status).toBe('failed');
    expect(invalid.errors?.data?.length).toBeGreaterThan(0);
    // one use only: the next batch is fine
    expect((await pollBatch(client, (await createBatch(client, lots(2))).id, isTerminal)).status).toBe('completed');
  });

  it('expires after K requests with partial output and batch_expired error lines', async () => {
    emu.faults.batch({ expireAfter: 4 });
    const batch = await pollBatch(client, (await createBatch(client, lots(10))).id, isTerminal);
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).toEqual(expect.any(Number));
    expect(batch.request_counts).toEqual({ total: 10, completed: 4, failed: 6 });
    const output = await readJsonl(client, batch.output_file_id as string);
    const errors = await readJsonl(client, batch.error_file_id as string);
    expect(output).toHaveLength(4);
    expect(errors).toHaveLength(6);
    for (const line of errors) {
      expect(line).toEqual({
        id: expect.stringMatching(/^batch_req_/),
        custom_id: expect.any(String),
        response: null,
        error: { code: 'batch_expired', message: expect.any(String) },
      });
    }
    expect(new Set([...output, ...errors].map((l) => l.custom_id)).size).toBe(10);
  });

  it.each([
    ['not_json', (line: string) => expect(() => JSON.parse(line)).toThrow(SyntaxError)],
    ['missing_custom_id', (line: string) => expect(JSON.parse(line)).not.toHaveProperty('custom_id')],
  ] as const)('malformed output lines (%s)', async (kind, check) => {
    emu.faults.batch({ malformedOutput: kind });
    const batch = await pollBatch(client, (await createBatch(client, lots(3))).id, isTerminal);
    const text = await (await client.files.content(batch.output_file_id as string)).text();
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(3);
    check(lines[0]);
    for (const line of lines.slice(1)) expect(JSON.parse(line)).toHaveProperty('custom_id');
  });
});
