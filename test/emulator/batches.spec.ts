import OpenAI, { BadRequestError, ConflictError, NotFoundError } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { RunningEmulator } from '../../src/emulator/emulator.js';
import { describeDamage } from '../../src/emulator/text-generator.js';
import {
  batchLine,
  createBatch,
  isTerminal,
  pollBatch,
  readJsonl,
  startImageServer,
  startTestEmulator,
  textRequest,
  uploadJsonl,
  type ImageServer,
} from './helpers.js';

let emu: RunningEmulator;
let client: OpenAI;
let images: ImageServer;

beforeAll(async () => {
  ({ emu, client } = await startTestEmulator({ batchDurationMs: 200 }));
  images = await startImageServer();
});
const afterTestClose: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of afterTestClose.splice(0)) await close();
});
afterAll(async () => {
  await emu.close();
  await images.close();
});

const lots = (n: number, model = 'o4-mini') =>
  Array.from({ length: n }, (_, i) => batchLine(`lot-${i}`, textRequest(`lot ${i} damage`, model)));

describe('batch lifecycle', () => {
  it('goes validating -> in_progress -> finalizing -> completed with the output in another order', async () => {
    // A slower clock than the suite's, so that polling sees every phase even on a loaded machine.
    const { emu: slowEmu, client } = await startTestEmulator({ batchDurationMs: 1000 });
    afterTestClose.push(() => slowEmu.close());
    const created: Batch = await createBatch(client, lots(12), { job_id: 'job-1', stage: 'vision' });
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: '/v1/responses',
      completion_window: '24h',
      metadata: { job_id: 'job-1', stage: 'vision' },
      output_file_id: null,
      error_file_id: null,
      errors: null,
    });
    expect(created.id).toMatch(/^batch_/);
    expect(created.expires_at).toBe(created.created_at + 86400);

    const seen = new Set<string>();
    const counts: number[] = [];
    const done = await pollBatch(client, created.id, (b) => {
      seen.add(b.status);
      if (b.status === 'in_progress') counts.push(b.request_counts?.completed ?? 0);
      return isTerminal(b);
    });
    expect(done.status).toBe('completed');
    expect([...seen]).toEqual(expect.arrayContaining(['validating', 'in_progress', 'finalizing', 'completed']));
    // request_counts grows while in progress
    expect(new Set(counts).size).toBeGreaterThan(1);
    expect(done.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
    expect(done.model).toBe('o4-mini');
    for (const field of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(done[field]).toEqual(expect.any(Number));
    expect(done.error_file_id).toBeNull();
    expect(done.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(done.usage?.total_tokens).toBe((done.usage?.input_tokens ?? 0) + (done.usage?.output_tokens ?? 0));

    const output = await readJsonl(client, done.output_file_id as string);
    const ids = output.map((line) => line.custom_id);
    expect([...ids].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `lot-${i}`).sort());
    expect(ids).not.toEqual(Array.from({ length: 12 }, (_, i) => `lot-${i}`));
    for (const line of output) {
      expect(line).toEqual({
        id: expect.stringMatching(/^batch_req_/),
        custom_id: expect.any(String),
        response: { status_code: 200, request_id: expect.any(String), body: expect.any(Object) },
        error: null,
      });
      const body = (line.response as { body: { output: { type: string; content?: { text: string }[] }[] } }).body;
      const message = body.output.find((item) => item.type === 'message');
      const n = String(line.custom_id).slice(4);
      expect(message?.content?.map((c) => c.text).join('')).toBe(describeDamage(`lot ${n} damage`, 0));
    }
    expect((await client.files.retrieve(done.output_file_id as string)).purpose).toBe('batch_output');
  });

  it('reverses the order of a 2-line batch rather than keeping it', async () => {
    const batch = await pollBatch(client, (await createBatch(client, lots(2))).id, isTerminal);
    expect((await readJsonl(client, batch.output_file_id as string)).map((l) => l.custom_id)).toEqual(['lot-1', 'lot-0']);
  });

  it('puts failed requests in the error file; an all-failed batch completes with output_file_id null', async () => {
    const lines = [
      batchLine('bad-image', {
        model: 'o4-mini',
        input: [{ role: 'user', content: [{ type: 'input_image', image_url: `${images.base}/missing.jpg` }] }],
      }),
      batchLine('boom', textRequest('x [emulator:fail-500]', 'o4-mini')),
    ];
    const batch = await pollBatch(client, (await createBatch(client, lines)).id, isTerminal);
    expect(batch.status).toBe('completed');
    expect(batch.output_file_id).toBeNull();
    expect(batch.error_file_id).toEqual(expect.stringMatching(/^file-/));
    expect(batch.request_counts).toEqual({ total: 2, completed: 0, failed: 2 });
    const errors = await readJsonl(client, batch.error_file_id as string);
    const byId = Object.fromEntries(errors.map((l) => [l.custom_id, l]));
    expect(byId['bad-image']).toEqual({
      id: expect.stringMatching(/^batch_req_/),
      custom_id: 'bad-image',
      response: {
        status_code: 400,
        request_id: expect.any(String),
        body: {
          error: {
            message: `Error while downloading ${images.base}/missing.jpg.`,
            type: 'invalid_request_error',
            param: 'url',
            code: 'invalid_value',
          },
        },
      },
      error: null,
    });
    expect((byId.boom.response as { status_code: number }).status_code).toBe(500);
  });

  it('fails validation with errors.data naming the lines (the create call itself succeeds)', async () => {
    const lines = [
      batchLine('a', textRequest('x')),
      'this is not json',
      batchLine('a', textRequest('y')),
      batchLine('c', textRequest('z'), { method: 'GET' }),
      batchLine('d', textRequest('z'), { url: '/v1/chat/completions' }),
      batchLine('e', textRequest('z', 'o4-mini')),
      JSON.stringify({ method: 'POST', url: '/v1/responses', body: textRequest('no id') }),
    ];
    const created = await createBatch(client, lines);
    expect(created.status).toBe('validating');
    const batch = await pollBatch(client, created.id, isTerminal);
    expect(batch.status).toBe('failed');
    expect(batch.failed_at).toEqual(expect.any(Number));
    expect(batch.errors?.object).toBe('list');
    expect(batch.errors?.data?.map((e) => [e.line, e.code, e.param])).toEqual([
      [2, 'invalid_json_line', null],
      [3, 'duplicate_custom_id', 'custom_id'],
      [4, 'invalid_value', 'method'],
      [5, 'url_mismatch', 'url'],
      [6, 'model_mismatch', 'body.model'],
      [7, 'missing_required_parameter', 'custom_id'],
    ]);
    expect(batch.output_file_id).toBeNull();
  });

  it('fails an empty file and one over 50,000 requests', async () => {
    const empty = await pollBatch(client, (await createBatch(client, [''])).id, isTerminal);
    expect(empty.errors?.data?.[0].code).toBe('empty_file');
    const tooMany = Array.from({ length: 50_001 }, (_, i) => `{"custom_id":"${i}"}`);
    const big = await pollBatch(client, (await createBatch(client, tooMany)).id, isTerminal);
    expect(big.status).toBe('failed');
    expect(big.errors?.data?.[0]).toMatchObject({ code: 'too_many_tasks', line: null });
  });

  it('cancels: cancelling -> cancelled with partial results', async () => {
    const { emu: slow, client: slowClient } = await startTestEmulator({ batchDurationMs: 1000 });
    try {
      const created = await createBatch(slowClient, lots(40));
      await pollBatch(slowClient, created.id, (b) => (b.request_counts?.completed ?? 0) > 0);
      const cancelling: Batch = await slowClient.batches.cancel(created.id);
      expect(cancelling.status).toBe('cancelling');
      expect(cancelling.cancelling_at).toEqual(expect.any(Number));
      const cancelled = await pollBatch(slowClient, created.id, isTerminal);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.cancelled_at).toEqual(expect.any(Number));
      const done = cancelled.request_counts?.completed ?? 0;
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(40);
      expect(await readJsonl(slowClient, cancelled.output_file_id as string)).toHaveLength(done);
      const error = await slowClient.batches.cancel(created.id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
    } finally {
      await slow.close();
    }
  });
});

describe('batch routes', () => {
  it('lists newest first with cursor pagination', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createBatch(client, lots(1))).id);
    const first = await client.batches.list({ limit: 2 });
    expect(first.data.map((b) => b.id)).toEqual([created[4], created[3]]);
    expect(first.has_more).toBe(true);
    const second = await client.batches.list({ limit: 2, after: created[3] });
    expect(second.data.map((b) => b.id)).toEqual([created[2], created[1]]);
    const raw = (await (
      await fetch(`${emu.url}/batches?limit=2`, { headers: { authorization: 'Bearer sk-test-emulator-key' } })
    ).json()) as Record<string, unknown>;
    expect(raw).toMatchObject({ object: 'list', first_id: created[4], last_id: created[3], has_more: true });
    // the SDK's auto-pagination follows the cursor to the end
    const all: string[] = [];
    for await (const batch of client.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all.slice(0, 5)).toEqual([...created].reverse());
    expect(new Set(all).size).toBe(all.length);
  });

  it('checks create parameters and metadata limits with 400s', async () => {
    const file = await uploadJsonl(client, lots(1));
    const create = (overrides: Record<string, unknown>) =>
      client.batches
        .create({
          input_file_id: file.id,
          endpoint: '/v1/responses',
          completion_window: '24h',
          ...overrides,
        })
        .catch((e: unknown) => e as BadRequestError);

    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(await create({ metadata: tooMany })).toMatchObject({ status: 400, param: 'metadata', code: 'object_above_max_properties' });
    expect(await create({ metadata: { ['k'.repeat(65)]: 'v' } })).toMatchObject({ status: 400, code: 'string_above_max_length' });
    expect(await create({ metadata: { k: 'v'.repeat(513) } })).toMatchObject({
      status: 400,
      param: 'metadata.k',
      code: 'string_above_max_length',
    });
    expect(await create({ completion_window: '48h' })).toMatchObject({ status: 400, param: 'completion_window' });
    expect(await create({ endpoint: '/v1/embeddings' })).toMatchObject({ status: 400, param: 'endpoint' });
    expect(await create({ input_file_id: 'file-nope' })).toMatchObject({ status: 400, param: 'input_file_id' });
    const ok = await create({
      metadata: { ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, 'v'])), ['k'.repeat(64)]: 'v'.repeat(512) },
    });
    expect(ok).toMatchObject({ object: 'batch', status: 'validating' });
  });

  it('answers 404 for an unknown batch id', async () => {
    const error = (await client.batches.retrieve('batch_nope').catch((e: unknown) => e)) as NotFoundError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.type).toBe('invalid_request_error');
  });
});
