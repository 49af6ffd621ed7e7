import { insertBatchJob, jobRow, startSharedDatabase, waitFor, type SharedDatabaseHarness } from '../pipeline/pipeline-support.js';
import type { TestApp } from '../support/app.js';
import { ClaimKeeper } from '../../src/batch-monitor/claim-keeper.service.js';

/**
 * Issue 9 #1: a batch must never be submitted twice, even when an OpenAI call
 * outlives the claim's lease. Two workers on one database; the emulator's
 * file upload hangs beyond WORKER_CLAIM_LEASE. Before the fix the second
 * worker took the job over when the lease ran out, found no orphan batch
 * and submitted, and the first worker's create went through too.
 */

interface LedgerBatch {
  id: string;
  stage: string;
  status: string;
  customIds: string[];
}

/** Every batch the emulator created, with the custom_ids of its input file (what OpenAI bills). */
async function ledger(emuUrl: string): Promise<LedgerBatch[]> {
  const headers = { authorization: 'Bearer sk-test' };
  const list = (await (await fetch(`${emuUrl}/batches?limit=100`, { headers })).json()) as {
    data: { id: string; status: string; input_file_id: string; metadata: Record<string, string> }[];
  };
  const batches: LedgerBatch[] = [];
  for (const batch of list.data) {
    const text = await (await fetch(`${emuUrl}/files/${batch.input_file_id}/content`, { headers })).text();
    const customIds = text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { custom_id: string }).custom_id);
    batches.push({ id: batch.id, stage: batch.metadata.stage, status: batch.status, customIds });
  }
  return batches;
}

// The ledger reads the batches' input files at the emulator afterwards: keep them (OPENAI_DELETE_FILES=false).
const SHORT_LEASE = { WORKER_CLAIM_LEASE: '1', HEARTBEAT_STALE_AFTER: '3', WORKER_POLL_INTERVAL: '0.1', OPENAI_DELETE_FILES: 'false' };

describe('an OpenAI call that outlives the claim', () => {
  let h: SharedDatabaseHarness;
  let a: TestApp;
  let b: TestApp;

  beforeEach(async () => {
    // Batches run for 4 s: the job is still open when the hanging upload returns, as in production.
    h = await startSharedDatabase(4_000);
    [a, b] = [await h.start(SHORT_LEASE), await h.start(SHORT_LEASE)];
  });
  afterEach(() => h.close());

  const lots = (n: number, host: string) =>
    Array.from({ length: n }, (_, i) => ({ lotId: `lot-${i}`, additionalInfo: `car ${i}`, images: [`${host}/img/${i}.jpg`] }));

  it('an upload hanging past the lease while a second worker runs: one batch, no request in two batches', async () => {
    // 2.5 × the lease: the holder keeps renewing its claim, so the other worker never takes the job over.
    h.emu.faults.delayNext(2_500, { route: 'POST /v1/files' });
    const jobId = await insertBatchJob(h.db, { languages: ['en'], lots: lots(6, h.images.url) });

    const job = await waitFor(
      async () => {
        const row = await jobRow(h.db, jobId);
        return row.status === 'completed' ? row : undefined;
      },
      { timeoutMs: 30_000, what: 'the job to complete' },
    );
    expect(job).toMatchObject({ processed_lots: 6, failed_lots: 0 });
    expect(h.emu.stats().faultsInjected).toBe(1); // the upload did hang

    const batches = await ledger(h.emu.url);
    expect(batches.map((batch) => batch.stage)).toEqual(['vision']);
    const billed = batches.flatMap((batch) => batch.customIds);
    expect(billed).toHaveLength(6);
    expect(new Set(billed).size).toBe(6);
    expect(h.emu.stats().batchesCreated).toBe(1);
  });

  it('a worker that lost its claim mid-upload (the job was cancelled) creates nothing', async () => {
    h.emu.faults.delayNext(10_000, { route: 'POST /v1/files' });
    const jobId = await insertBatchJob(h.db, { languages: ['en'], lots: lots(3, h.images.url) });
    // The upload is on its way: the job is marked "submission in flight".
    await waitFor(async () => (h.emu.stats().requests['POST /v1/files'] ?? 0) >= 1, { what: 'the upload to start' });
    const cancelled = await a.fetch(`/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST', signWith: jobId });
    expect(cancelled.status).toBe(200);

    // The holder's renewal finds the job gone from the active statuses and aborts the hanging upload:
    // its step ends long before the 10 s the upload would have taken.
    const held = () => [a, b].reduce((sum, app) => sum + app.app.get(ClaimKeeper).heldCount, 0);
    const cancelledAt = Date.now();
    await waitFor(async () => held() === 0, { timeoutMs: 5_000, what: 'the holder to abandon its step' });
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    expect((await jobRow(h.db, jobId)).status).toBe('cancelled');
    expect(h.emu.stats().batchesCreated).toBe(0);
    expect(h.emu.stats().requests['POST /v1/batches'] ?? 0).toBe(0);
  });
});
