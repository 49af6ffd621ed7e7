import { signRequest } from '../src/auth/http-signatures/index.js';
import { canonicalJson } from '../src/common/json/canonical-json.js';
import { sign } from '../src/auth/hmac.js';
import { BENCH_SHARED_KEY, type BenchEnv, type RunningApp } from './bench-env.js';
import { median, peakRss } from './measure.js';

export interface BenchRequest {
  text: string;
  signature: string;
  lotCount: number;
}

/** The benchmark's request: N lots × 3 images × 3 languages, as a client would send it. */
export function buildRequest(imageBase: string, lotCount = 50_000): BenchRequest {
  const lots = Array.from({ length: lotCount }, (_, i) => ({
    lot_id: `bench-${i}`,
    additional_info: `Vehicle ${i}: 2019 Mercedes C-Class, minor rear damage, bumper scratches, left tail light cracked`,
    images: [1, 2, 3].map((k) => ({ url: `${imageBase}/lots/${i}/photo-${k}.png` })),
  }));
  const text = JSON.stringify({ version: '1.0.0', languages: ['en', 'de', 'fr'], lots });
  return { text, signature: sign(BENCH_SHARED_KEY, canonicalJson(lots)), lotCount };
}

/** POST → 201 over HTTP, signed with the seed scheme, or with RFC 9421 by the client that owns `v2` (its key); returns the job id. */
export async function postBatch(app: RunningApp, request: BenchRequest, v2?: { keyId: string; secret: string }): Promise<string> {
  const path = '/api/v1/generate-descriptions';
  const signature = v2
    ? signRequest(
        { method: 'POST', url: path, body: request.text },
        { keyId: v2.keyId, algorithm: 'hmac-sha256', key: Buffer.from(v2.secret, 'base64') },
      )
    : { 'X-Signature': request.signature };
  const res = await fetch(app.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...signature },
    body: request.text,
  });
  const body = (await res.json()) as { job_id?: string };
  if (res.status !== 201 || !body.job_id) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.job_id;
}

/**
 * The baseline: what any implementation must at least do — parse the body
 * and bulk-insert the same rows in one transaction with the fastest plain
 * SQL measured (one json_to_recordset statement).
 */
async function baselineInsert(env: BenchEnv, text: string): Promise<void> {
  const parsed = JSON.parse(text) as {
    version: string;
    languages: string[];
    lots: { lot_id: string; additional_info?: string; webhook?: string; images: unknown }[];
  };
  const client = await env.sql.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO batch_jobs (client_id, status, processing_mode, version, languages, total_lots)
       VALUES ('default', 'cancelled', 'batch', $1, $2, $3) RETURNING id`,
      [parsed.version, JSON.stringify(parsed.languages), parsed.lots.length],
    );
    const lotRows = parsed.lots.map((lot, position) => ({
      position,
      lot_id: lot.lot_id,
      additional_info: lot.additional_info ?? null,
      webhook_url: lot.webhook ?? null,
      images: lot.images,
    }));
    await client.query(
      `INSERT INTO batch_lots (batch_job_id, position, lot_id, additional_info, webhook_url, images)
       SELECT $1, r.position, r.lot_id, r.additional_info, r.webhook_url, r.images
       FROM json_to_recordset($2::json) AS r(position int, lot_id text, additional_info text, webhook_url text, images jsonb)`,
      [rows[0].id, JSON.stringify(lotRows)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

export interface CreateFigures {
  appMs: number;
  baselineMs: number;
  peakRss: number;
  jobIds: string[];
}

/** (1) POST → 201 of a 50,000-lot request next to its baseline; medians of `repeats` interleaved runs. */
export async function benchCreate(env: BenchEnv, app: RunningApp, request: BenchRequest, repeats = 3): Promise<CreateFigures> {
  const appTimes: number[] = [];
  const baselineTimes: number[] = [];
  const jobIds: string[] = [];
  let peak = 0;
  for (let run = 0; run < repeats; run++) {
    const measured = await peakRss(async () => {
      const started = performance.now();
      jobIds.push(await postBatch(app, request));
      return performance.now() - started;
    });
    appTimes.push(measured.result);
    peak = Math.max(peak, measured.peak);

    const started = performance.now();
    await baselineInsert(env, request.text);
    baselineTimes.push(performance.now() - started);
    console.log(`  run ${run + 1}: POST→201 ${measured.result.toFixed(0)} ms, baseline ${baselineTimes[run].toFixed(0)} ms`);
  }
  return { appMs: median(appTimes), baselineMs: median(baselineTimes), peakRss: peak, jobIds };
}
