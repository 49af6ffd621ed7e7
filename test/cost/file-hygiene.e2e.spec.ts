import { json } from '../support/app.js';
import { startPipeline, tickUntil, type PipelineHarness } from '../pipeline/pipeline-support.js';

const EMULATOR_KEY = 'sk-test-emulator-key';

async function filesAtOpenAi(h: PipelineHarness): Promise<string[]> {
  const response = await fetch(`${h.emu.url}/files?limit=10000`, { headers: { authorization: `Bearer ${EMULATOR_KEY}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { id: string }[] }).data.map((file) => file.id);
}

async function runJob(h: PipelineHarness, prefix: string): Promise<{ jobId: string; fileIds: string[] }> {
  const img = (name: string) => ({ url: `${h.images.url}/img/${name}.jpg` });
  const response = await h.app.postLots({
    languages: ['en', 'de'],
    lots: [
      { lot_id: `${prefix}-1`, images: [img('a')] },
      { lot_id: `${prefix}-2`, images: [img('b')] },
    ],
  });
  expect(response.status).toBe(201);
  const jobId = ((await response.json()) as { job_id: string }).job_id;
  await tickUntil(
    h.app,
    async () =>
      ((await json(await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId))) as { status: string }).status === 'completed' || undefined,
    { what: 'the job to complete' },
  );
  const rows = await h.app.db.query<{ input_file_id: string; output_file_id: string | null; error_file_id: string | null }>(
    `SELECT input_file_id, output_file_id, error_file_id FROM openai_batches WHERE batch_job_id = $1`,
    [jobId],
  );
  expect(rows).toHaveLength(2); // vision and translation
  return {
    jobId,
    fileIds: rows.flatMap((row) => [row.input_file_id, row.output_file_id, row.error_file_id]).filter((id): id is string => !!id),
  };
}

describe('data hygiene at OpenAI: a job’s files are deleted once ingested', () => {
  let h: PipelineHarness;
  afterEach(() => h?.close());

  it('after a job completes the emulator holds none of its files, and its ledger shows the deletions', async () => {
    h = await startPipeline();
    const { jobId, fileIds } = await runJob(h, 'h');
    expect(fileIds.length).toBeGreaterThanOrEqual(4); // two inputs, two outputs
    const left = await filesAtOpenAi(h);
    expect(fileIds.filter((id) => left.includes(id))).toEqual([]);
    expect(h.emu.stats().filesDeleted).toBe(fileIds.length);
    const rows = await h.app.db.query<{ files_deleted_at: Date | null }>(
      `SELECT files_deleted_at FROM openai_batches WHERE batch_job_id = $1`,
      [jobId],
    );
    expect(rows.every((row) => row.files_deleted_at !== null)).toBe(true);

    // Deleting the job afterwards has nothing left to clean at OpenAI: no batch read, no file deleted again.
    const before = h.emu.stats().totalRequests;
    expect((await h.app.fetch(`/api/v1/batch-jobs/${jobId}`, { method: 'DELETE', signWith: jobId })).status).toBe(204);
    expect(h.emu.stats().totalRequests).toBe(before);
  });

  it('OPENAI_DELETE_FILES=false keeps them', async () => {
    h = await startPipeline({ env: { OPENAI_DELETE_FILES: 'false' } });
    const { fileIds } = await runJob(h, 'k');
    const left = await filesAtOpenAi(h);
    expect(fileIds.every((id) => left.includes(id))).toBe(true);
    expect(h.emu.stats().filesDeleted).toBe(0);
  });
});
