import type { GatewayRequest, SubmittedBatch } from '../../src/openai/openai-gateway.types.js';
import {
  collect,
  EMULATOR_KEY,
  newGateway,
  startGateway,
  submitAll,
  translationBody,
  visionBody,
  waitForBatch,
  type GatewayFixture,
} from './gateway-support.js';
import { startLoopbackProxy } from './loopback-proxy.js';

let fx: GatewayFixture;

beforeAll(async () => {
  fx = await startGateway({ options: { batchLimits: { maxRequests: 3 }, listPageSize: 2 } });
});
afterAll(() => fx.close());

const visionRequests = (n: number, prefix = 'lot'): GatewayRequest[] =>
  Array.from({ length: n }, (_, i) => ({
    customId: `${prefix}-${i}`,
    body: visionBody({ lotId: `${prefix}-${i}`, additionalInfo: `Damage ${i}`, imageUrls: [] }),
  }));

async function fileLines(fileId: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${fx.emu.url}/files/${fileId}/content`, { headers: { authorization: `Bearer ${EMULATOR_KEY}` } });
  return (await res.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('submitBatch', () => {
  it('writes one JSONL line per request (POST /v1/responses, custom_id) and names job, stage and part in metadata', async () => {
    const reported: SubmittedBatch[] = [];
    const [batch, ...rest] = await submitAll(fx.gateway, {
      jobId: 'job-meta',
      stage: 'translation',
      requests: [{ customId: 'only', body: translationBody({ html: '<p>x</p>', languages: ['de'] }) }],
      onCreated: async (b) => void reported.push(b),
    });
    expect(rest).toEqual([]);
    expect(reported).toEqual([batch]);
    expect(batch).toMatchObject({ part: 1, requestCount: 1, customIds: ['only'], openaiBatchId: expect.stringMatching(/^batch_/) });

    const snapshot = await fx.gateway.retrieveBatch(batch.openaiBatchId);
    expect(snapshot.metadata).toEqual({ job_id: 'job-meta', stage: 'translation', part: '1', service: 'generation-service' });
    expect(snapshot.inputFileId).toBe(batch.inputFileId);
    const file = await fetch(`${fx.emu.url}/files/${batch.inputFileId}`, { headers: { authorization: `Bearer ${EMULATOR_KEY}` } });
    expect(await file.json()).toMatchObject({ purpose: 'batch', filename: 'job-meta-translation-part1.jsonl' });
    const lines = await fileLines(batch.inputFileId);
    expect(lines).toEqual([
      { custom_id: 'only', method: 'POST', url: '/v1/responses', body: expect.objectContaining({ model: 'gpt-4.1-mini' }) },
    ]);
    expect((await waitForBatch(fx.gateway, batch.openaiBatchId)).status).toBe('completed');
  });

  it('splits above the request limit and reports each batch before the next file is uploaded', async () => {
    const uploadsSeenAtReport: number[] = [];
    const filesBefore = fx.emu.stats().filesCreated;
    async function* requests() {
      // An async source, as the pipeline streams lots from the database.
      for (const request of visionRequests(7, 'split')) yield request;
    }
    const batches: SubmittedBatch[] = [];
    // The pipeline's loop: each batch is recorded in the body, before the gateway writes and uploads the next part.
    for await (const batch of fx.gateway.submitBatches(requests(), { jobId: 'job-split', stage: 'vision' })) {
      uploadsSeenAtReport.push(fx.emu.stats().filesCreated - filesBefore);
      batches.push(batch);
    }
    expect(batches.map((b) => [b.part, b.requestCount])).toEqual([
      [1, 3],
      [2, 3],
      [3, 1],
    ]);
    expect(batches.flatMap((b) => b.customIds)).toEqual(visionRequests(7, 'split').map((r) => r.customId));
    expect(uploadsSeenAtReport).toEqual([1, 2, 3]);
    for (const batch of batches) {
      const snapshot = await fx.gateway.retrieveBatch(batch.openaiBatchId);
      expect(snapshot.metadata).toMatchObject({ job_id: 'job-split', stage: 'vision', part: String(batch.part) });
      expect((await fileLines(batch.inputFileId)).map((l) => l.custom_id)).toEqual(batch.customIds);
    }
  });

  it('splits above the byte limit too', async () => {
    const requests = visionRequests(5, 'bytes');
    const lineBytes =
      Buffer.byteLength(JSON.stringify({ custom_id: 'bytes-0', method: 'POST', url: '/v1/responses', body: requests[0].body })) + 1;
    const small = await startGateway({ options: { batchLimits: { maxBytes: lineBytes * 2 + 1 } } });
    try {
      const batches = await submitAll(small.gateway, { jobId: 'job-bytes', stage: 'vision', requests, onCreated: async () => undefined });
      expect(batches.map((b) => b.requestCount)).toEqual([2, 2, 1]);
    } finally {
      await small.close();
    }
  });

  it('creates nothing for an empty stage', async () => {
    const before = fx.emu.stats();
    expect(await submitAll(fx.gateway, { jobId: 'job-empty', stage: 'vision', requests: [], onCreated: async () => undefined })).toEqual(
      [],
    );
    expect(fx.emu.stats().filesCreated).toBe(before.filesCreated);
  });

  it.each([
    ['a duplicate customId', () => [...visionRequests(1, 'dup'), ...visionRequests(1, 'dup')], /Duplicate customId/],
    ['an empty customId', () => [{ customId: '', body: { model: 'o4-mini' } }], /non-empty customId/],
    ['two models', () => [...visionRequests(1), { customId: 'other', body: { model: 'gpt-4.1-mini', input: 'x' } }], /one model/],
  ])('rejects %s before uploading anything', async (_name, requests, message) => {
    const before = fx.emu.stats();
    await expect(
      submitAll(fx.gateway, { jobId: 'job-bad', stage: 'vision', requests: requests(), onCreated: async () => undefined }),
    ).rejects.toThrow(message);
    expect(fx.emu.stats().filesCreated).toBe(before.filesCreated);
    expect(fx.emu.stats().batchesCreated).toBe(before.batchesCreated);
  });

  it('stops at a batch whose recording fails (the batch exists and carries its metadata)', async () => {
    const before = fx.emu.stats().batchesCreated;
    const record = async (): Promise<void> => {
      throw new Error('database down');
    };
    await expect(
      (async () => {
        for await (const batch of fx.gateway.submitBatches(visionRequests(6, 'crash'), { jobId: 'job-crash', stage: 'vision' })) {
          await record();
          expect(batch).toBeUndefined(); // never reached
        }
      })(),
    ).rejects.toThrow('database down');
    expect(fx.emu.stats().batchesCreated).toBe(before + 1);
  });

  it('retries a failed upload and a failed create without creating a second batch', async () => {
    const before = fx.emu.stats();
    fx.emu.faults.failNext(500, { route: 'POST /v1/files' });
    fx.emu.faults.failNext(429, { route: 'POST /v1/batches', retryAfterSeconds: 0 });
    const retriesBefore = fx.gateway.metrics.retries;
    const [batch] = await submitAll(fx.gateway, {
      jobId: 'job-retry',
      stage: 'vision',
      requests: visionRequests(2, 'retry'),
      onCreated: async () => undefined,
    });
    const after = fx.emu.stats();
    expect(after.requests['POST /v1/files'] - (before.requests['POST /v1/files'] ?? 0)).toBe(2);
    expect(after.batchesCreated - before.batchesCreated).toBe(1);
    expect(fx.gateway.metrics.retries - retriesBefore).toBe(2);
    expect((await fx.gateway.retrieveBatch(batch.openaiBatchId)).metadata.job_id).toBe('job-retry');
  });
});

describe('a create whose answer is lost', () => {
  it('adopts the batch that was created anyway instead of paying twice', async () => {
    const proxy = await startLoopbackProxy(fx.emu.url);
    try {
      const gateway = newGateway(proxy.url);
      // The emulator creates the batch, but the answer never reaches the gateway.
      proxy.loseNextResponse('POST /v1/batches');
      const before = fx.emu.stats();
      const [batch] = await submitAll(gateway, {
        jobId: 'job-lost',
        stage: 'vision',
        requests: visionRequests(1, 'lost'),
        onCreated: async () => undefined,
      });
      const after = fx.emu.stats();
      expect(after.requests['POST /v1/batches'] - before.requests['POST /v1/batches']).toBe(1);
      expect(after.batchesCreated - before.batchesCreated).toBe(1);
      expect(gateway.metrics.retries).toBe(1);
      expect((await gateway.retrieveBatch(batch.openaiBatchId)).metadata.job_id).toBe('job-lost');
    } finally {
      await proxy.close();
    }
  });
});

describe('listBatches', () => {
  it('pages newest first through every batch and finds one by its metadata (reconciliation)', async () => {
    const created: string[] = [];
    for (const job of ['job-list-a', 'job-list-b', 'job-list-c']) {
      await submitAll(fx.gateway, {
        jobId: job,
        stage: 'vision',
        requests: visionRequests(1, job),
        onCreated: async (b) => void created.push(b.openaiBatchId),
      });
    }
    const listed = await collect(fx.gateway.listBatches({ createdAfter: new Date(Date.now() - 60_000) }));
    const ids = listed.map((b) => b.id);
    // Newest first, and more than one page of two.
    expect(ids.indexOf(created[2])).toBeLessThan(ids.indexOf(created[1]));
    expect(ids.indexOf(created[1])).toBeLessThan(ids.indexOf(created[0]));
    expect(ids.length).toBe(fx.emu.stats().batchesCreated);
    const found = listed.find((b) => b.metadata.job_id === 'job-list-b' && b.metadata.stage === 'vision');
    expect(found?.id).toBe(created[1]);
  });

  it('stops at the first batch older than createdAfter without fetching further pages', async () => {
    const before = fx.emu.stats().requests['GET /v1/batches'] ?? 0;
    expect(await collect(fx.gateway.listBatches({ createdAfter: new Date(Date.now() + 60_000) }))).toEqual([]);
    expect(fx.emu.stats().requests['GET /v1/batches']).toBe(before + 1);
  });
});
