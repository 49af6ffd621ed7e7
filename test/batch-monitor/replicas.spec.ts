import type { TestApp } from '../support/app.js';
import {
  insertBatchJob,
  lotRows,
  openaiBatches,
  startSharedDatabase,
  untilTerminal,
  type SharedDatabaseHarness,
} from '../pipeline/pipeline-support.js';

/**
 * SPEC §5 "nothing twice": three processes (one API+worker, two workers) on
 * one database race for the same jobs. Each stage is submitted as exactly one
 * batch, each output file is downloaded and ingested once, and each lot's
 * results are applied once.
 */
describe('several replicas on one database', () => {
  let h: SharedDatabaseHarness;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    h = await startSharedDatabase();
    for (const role of ['all', 'worker', 'worker']) apps.push(await h.start({ APP_ROLE: role, WORKER_POLL_INTERVAL: '0.05' }));
  });
  afterAll(() => h.close());

  it('submits one batch per stage and ingests each file once', async () => {
    const { emu, images, db } = h;
    const lots = Array.from({ length: 20 }, (_, i) => ({
      lotId: `lot-${i}`,
      additionalInfo: `vehicle ${i}`,
      images: [`${images.url}/img/${i}-a.jpg`, `${images.url}/img/${i}-b.jpg`],
    }));
    const jobIds = [
      await insertBatchJob(db, { languages: ['en', 'fr'], lots }),
      await insertBatchJob(db, { languages: ['en', 'es'], lots }),
    ];

    // Every replica ticks as fast as it can, on top of its own loop.
    for (const jobId of jobIds) {
      const job = await untilTerminal(apps, db, jobId, 30_000);
      expect(job).toMatchObject({ status: 'completed', processed_lots: 20, failed_lots: 0 });

      const batches = await openaiBatches(db, jobId);
      expect(batches.map((b) => [b.stage, b.part])).toEqual([
        ['translation', 1],
        ['vision', 1],
      ]);
      expect(batches.every((b) => b.ingested_at !== null)).toBe(true);

      // Ingestion adds each batch's usage to the job once; a second ingestion would double the job's sum but not the lots'.
      const rows = [...(await lotRows(db, jobId)).values()];
      const lotTotal = rows.reduce((sum, row) => sum + row.usage.total_tokens, 0);
      expect(job.usage.total_tokens).toBe(lotTotal);
      expect(rows.every((row) => row.status === 'completed' && row.usage.total_tokens > 0)).toBe(true);
    }
    const stats = emu.stats();
    expect(stats.batchesCreated).toBe(4);
    expect(stats.filesCreated).toBe(4); // one JSONL upload per stage and job
    expect(stats.requests['GET /v1/files/:id/content']).toBe(4);
    expect(stats.responsesCreated).toBe(0);
    // Image URLs were checked once per job (deduplicated), not once per replica.
    const checks = images.requests.filter((request) => request.headers['user-agent'] === 'Generation-Service/2.0');
    expect(checks).toHaveLength(2 * 40);
  });
});
