import OpenAI, { toFile } from 'openai';
import { BatchIngestionService } from '../src/batch-monitor/batch-ingestion.service.js';
import type { BenchEnv, RunningApp } from './bench-env.js';
import { peakRss } from './measure.js';

/** One output line as OpenAI writes it: a Responses body with a reasoning item before the message. */
function outputLine(customId: string, n: number): string {
  return JSON.stringify({
    id: `batch_req_${n}`,
    custom_id: customId,
    response: {
      status_code: 200,
      request_id: `req_${n}`,
      body: {
        id: `resp_${n}`,
        object: 'response',
        status: 'completed',
        model: 'o4-mini',
        output: [
          { id: `rs_${n}`, type: 'reasoning', summary: [] },
          {
            id: `msg_${n}`,
            type: 'message',
            role: 'assistant',
            status: 'completed',
            content: [
              {
                type: 'output_text',
                annotations: [],
                text: `<p>Damage assessment ${n}: minor rear damage, bumper scratched.</p><p>No structural damage visible.</p>`,
              },
            ],
          },
        ],
        usage: { input_tokens: 2400, output_tokens: 120, output_tokens_details: { reasoning_tokens: 64 }, total_tokens: 2520 },
      },
    },
    error: null,
  });
}

/**
 * (3) Ingestion of a 50,000-line vision output file through processing's
 * BatchIngestionService: downloaded from the emulator as a stream, parsed,
 * matched by custom_id and written in bulk — the worker's real path.
 * The lines are shuffled: results are matched by custom_id, never by order.
 */
export async function benchIngestion(env: BenchEnv, app: RunningApp, jobId: string) {
  await env.sql.query(
    `UPDATE batch_jobs SET status = 'processing', current_stage = 'vision_analysis', next_check_at = now() + interval '1 day' WHERE id = $1`,
    [jobId],
  );
  await env.sql.query(`UPDATE batch_lots SET status = 'processing' WHERE batch_job_id = $1`, [jobId]);
  const { rows } = await env.sql.query<{ id: string }>('SELECT id FROM batch_lots WHERE batch_job_id = $1', [jobId]);
  const lines = rows.map((row, n) => outputLine(row.id, n));
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  const openai = new OpenAI({ apiKey: 'sk-bench', baseURL: env.emulator.url });
  const file = await openai.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'output.jsonl'), purpose: 'batch' });
  const {
    rows: [batch],
  } = await env.sql.query<{ id: string }>(
    `INSERT INTO openai_batches (batch_job_id, stage, openai_batch_id, input_file_id, output_file_id, status, request_count, completed_count)
     VALUES ($1, 'vision', 'batch_bench_ingestion', 'file-input', $2, 'completed', $3, $3) RETURNING id`,
    [jobId, file.id, lines.length],
  );
  lines.length = 0;

  const ingestion = app.app.get(BatchIngestionService, { strict: false });
  const measured = await peakRss(async () => {
    const started = performance.now();
    const summary = await ingestion.ingest(batch.id);
    return { summary, elapsedMs: performance.now() - started };
  });
  const { summary, elapsedMs } = measured.result;
  if (!summary || summary.lines !== rows.length)
    throw new Error(`ingestion applied ${summary?.lines ?? 'nothing'} of ${rows.length} lines`);
  const [{ translating }] = (
    await env.sql.query<{ translating: number }>(
      `SELECT count(*)::int AS translating FROM batch_lots WHERE batch_job_id = $1 AND vision_result IS NOT NULL`,
      [jobId],
    )
  ).rows;
  return { elapsedMs, lines: summary.lines, written: translating, peakRss: measured.peak, growth: measured.peak - measured.baseline };
}
