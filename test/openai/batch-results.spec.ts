import type { BatchResultLine, GatewayRequest, SubmittedBatch } from '../../src/openai/openai-gateway.types.js';
import { collect, expectedDescription, submitAll, useGatewayWithImages, visionBody, waitForBatch } from './gateway-support.js';

const ctx = useGatewayWithImages();

const info = (customId: string) => `Dents on panel ${customId}`;
const requests = (ids: string[], imageUrls: (id: string) => string[] = () => []): GatewayRequest[] =>
  ids.map((customId) => ({
    customId,
    body: visionBody({ lotId: customId, additionalInfo: info(customId), imageUrls: imageUrls(customId) }),
  }));
const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function submitOne(jobId: string, reqs: GatewayRequest[]): Promise<SubmittedBatch> {
  const [batch] = await submitAll(ctx.fx.gateway, { jobId, stage: 'vision', requests: reqs, onCreated: async () => undefined });
  return batch;
}

const byId = (lines: BatchResultLine[]) => new Map(lines.map((l) => [l.customId, l.result]));

describe('readResults', () => {
  it('matches out-of-order output lines to their lots by custom_id', async () => {
    const lots = ids(8, 'ok');
    const batch = await submitOne('job-ok', requests(lots));
    const done = await waitForBatch(ctx.fx.gateway, batch.openaiBatchId);
    expect(done).toMatchObject({ status: 'completed', requestCounts: { total: 8, completed: 8, failed: 0 }, errorFileId: null });
    expect(done.endedAt).toBeInstanceOf(Date);

    const lines = await collect(ctx.fx.gateway.readResults(done.outputFileId!));
    const order = lines.map((l) => l.customId);
    expect(order).not.toEqual(lots); // OpenAI does not keep input order...
    expect([...order].sort()).toEqual([...lots].sort()); // ...but every lot is there once
    const results = byId(lines);
    for (const lot of lots) expect(results.get(lot)).toMatchObject({ ok: true, text: expectedDescription(info(lot), 0) });
    expect(lines.every((l) => (l.result.usage.total_tokens ?? 0) > 0)).toBe(true);
  });

  it('reads an all-failed batch from its error file: no output file, the exact download error per lot', async () => {
    const lots = ids(3, 'noimg');
    const batch = await submitOne(
      'job-allfail',
      requests(lots, (id) => [`${ctx.images.base}/missing-${id}.jpg`]),
    );
    const done = await waitForBatch(ctx.fx.gateway, batch.openaiBatchId);
    expect(done).toMatchObject({ status: 'completed', outputFileId: null, requestCounts: { total: 3, completed: 0, failed: 3 } });
    const results = byId(await collect(ctx.fx.gateway.readResults(done.errorFileId!)));
    expect(results.size).toBe(3);
    for (const lot of lots) {
      expect(results.get(lot)).toEqual({
        ok: false,
        kind: 'request_failed',
        error: `Error while downloading ${ctx.images.base}/missing-${lot}.jpg.`,
        statusCode: 400,
        retryable: false,
        usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 },
      });
    }
  });

  it('keeps the partial results of an expired batch and marks the rest batch_expired (retryable)', async () => {
    ctx.fx.emu.faults.batch({ expireAfter: 2, match: { job_id: 'job-expired' } });
    const lots = ids(5, 'exp');
    const batch = await submitOne('job-expired', requests(lots));
    const done = await waitForBatch(ctx.fx.gateway, batch.openaiBatchId);
    expect(done).toMatchObject({ status: 'expired', requestCounts: { total: 5, completed: 2, failed: 3 } });

    const succeeded = await collect(ctx.fx.gateway.readResults(done.outputFileId!));
    const expired = await collect(ctx.fx.gateway.readResults(done.errorFileId!));
    expect(succeeded).toHaveLength(2);
    expect(succeeded.every((l) => l.result.ok)).toBe(true);
    expect(expired).toHaveLength(3);
    for (const line of expired) expect(line.result).toMatchObject({ ok: false, kind: 'batch_expired', retryable: true });
    expect([...succeeded, ...expired].map((l) => l.customId).sort()).toEqual([...lots].sort());
  });

  it.each([
    // Half a line: the custom_id near its start is still recovered, so the lot learns why.
    ['not_json', true],
    ['missing_custom_id', false],
  ] as const)('turns a malformed output line (%s) into a malformed result and keeps reading', async (kind, idRecovered) => {
    const jobId = `job-malformed-${kind}`;
    ctx.fx.emu.faults.batch({ malformedOutput: kind, match: { job_id: jobId } });
    const lots = ids(4, kind);
    const done = await waitForBatch(ctx.fx.gateway, (await submitOne(jobId, requests(lots))).openaiBatchId);
    const lines = await collect(ctx.fx.gateway.readResults(done.outputFileId!));
    expect(lines).toHaveLength(4);
    const bad = lines.filter((l) => !l.result.ok);
    expect(bad).toHaveLength(1);
    expect(bad[0].result).toMatchObject({ kind: 'malformed', retryable: true });
    if (idRecovered) expect(lots).toContain(bad[0].customId);
    else expect(bad[0].customId).toBe('');
    expect(lines.filter((l) => l.result.ok)).toHaveLength(3);
  });

  it('stops reading cleanly when the consumer stops early', async () => {
    const done = await waitForBatch(ctx.fx.gateway, (await submitOne('job-early', requests(ids(20, 'early')))).openaiBatchId);
    let seen = 0;
    for await (const line of ctx.fx.gateway.readResults(done.outputFileId!)) {
      expect(line.result.ok).toBe(true);
      seen++;
      if (seen === 2) break;
    }
    expect(seen).toBe(2);
  });
});

describe('batch states', () => {
  it('cancels a running batch: cancelling, then cancelled with the finished part readable', async () => {
    ctx.fx.emu.faults.batch({ stuck: 'in_progress', match: { job_id: 'job-cancel' } });
    const lots = ids(10, 'cancel');
    const batch = await submitOne('job-cancel', requests(lots));
    await waitForBatch(ctx.fx.gateway, batch.openaiBatchId, (b) => b.status === 'in_progress' && b.requestCounts.completed === 5);
    const cancelling = await ctx.fx.gateway.cancelBatch(batch.openaiBatchId);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await waitForBatch(ctx.fx.gateway, batch.openaiBatchId);
    expect(done.status).toBe('cancelled');
    const partial = await collect(ctx.fx.gateway.readResults(done.outputFileId!));
    expect(partial).toHaveLength(5);
    expect(partial.every((l) => lots.includes(l.customId) && l.result.ok)).toBe(true);
  });

  it('reports an upstream validation failure (token_limit_exceeded) with its error codes', async () => {
    ctx.fx.emu.faults.batch({ fail: 'token_limit_exceeded', match: { job_id: 'job-tokens' } });
    const done = await waitForBatch(ctx.fx.gateway, (await submitOne('job-tokens', requests(ids(2, 'tok')))).openaiBatchId);
    expect(done).toMatchObject({ status: 'failed', outputFileId: null, errorFileId: null });
    expect(done.errors).toEqual([{ code: 'token_limit_exceeded', message: expect.stringMatching(/Enqueued token limit/), line: null }]);
  });

  it('rejects retrieving an unknown batch with OpenAI’s 404, without retrying it', async () => {
    const before = ctx.fx.emu.stats().requests['GET /v1/batches/:id'] ?? 0;
    await expect(ctx.fx.gateway.retrieveBatch('batch_does_not_exist')).rejects.toMatchObject({ status: 404 });
    expect(ctx.fx.emu.stats().requests['GET /v1/batches/:id']).toBe(before + 1);
  });
});
