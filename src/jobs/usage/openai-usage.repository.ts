import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { query, type SqlRunner } from '../../database/sql.js';
import type { TokenUsage } from '../job.types.js';
import type { UsageLine, UsageSource, UsageStage } from './usage.types.js';

interface UsageRow {
  stage: UsageStage;
  mode: UsageLine['mode'];
  model: string;
  input_tokens: string;
  cached_tokens: string;
  output_tokens: string;
  reasoning_tokens: string;
  calls: string;
}

/**
 * `openai_usage`: one row per billed OpenAI response (lot, stage, call key).
 * Recording is idempotent — the key is the lot, the stage and the batch (or a
 * fresh id per direct call) — and a job's totals are sums over its rows.
 */
@Injectable()
export class OpenAiUsageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records the usage of results in the caller's transaction; lots of other
   * jobs and results without tokens are skipped, and a (lot, stage, call) already
   * recorded is not added again. Returns what was newly recorded (null: nothing).
   */
  async record(
    tx: SqlRunner,
    jobId: string,
    stage: UsageStage,
    source: UsageSource,
    results: { id: string; usage: TokenUsage }[],
  ): Promise<UsageLine | null> {
    const rows = results
      .filter((result) => (result.usage.input_tokens ?? 0) + (result.usage.output_tokens ?? 0) > 0)
      .map((result) => ({
        id: result.id,
        key: source.mode === 'batch' ? `batch:${source.batchId ?? 'unknown'}` : `direct:${randomUUID()}`,
        input_tokens: result.usage.input_tokens ?? 0,
        cached_tokens: result.usage.cached_tokens ?? 0,
        output_tokens: result.usage.output_tokens ?? 0,
        reasoning_tokens: result.usage.reasoning_tokens ?? 0,
      }));
    if (rows.length === 0) return null;
    const [sum] = await query<UsageRow>(
      tx,
      `WITH inserted AS (
         INSERT INTO openai_usage (lot_row_id, stage, call_key, batch_job_id, mode, model, input_tokens, cached_tokens, output_tokens, reasoning_tokens)
         SELECT v.id, $2, v.key, $1, $3, $4, v.input_tokens, v.cached_tokens, v.output_tokens, v.reasoning_tokens
           FROM jsonb_to_recordset($5::jsonb)
                AS v(id uuid, key text, input_tokens bigint, cached_tokens bigint, output_tokens bigint, reasoning_tokens bigint)
           JOIN batch_lots l ON l.id = v.id AND l.batch_job_id = $1
         ON CONFLICT DO NOTHING
         RETURNING input_tokens, cached_tokens, output_tokens, reasoning_tokens
       ),
       added AS (
         SELECT $2::text AS stage, $3::text AS mode, $4::text AS model,
                COALESCE(sum(input_tokens), 0) AS input_tokens, COALESCE(sum(cached_tokens), 0) AS cached_tokens,
                COALESCE(sum(output_tokens), 0) AS output_tokens, COALESCE(sum(reasoning_tokens), 0) AS reasoning_tokens,
                count(*) AS calls
           FROM inserted
       ),
       -- Only what was newly inserted goes into the job's totals, in the same statement: counted once, read cheaply.
       totals AS (
         INSERT INTO openai_usage_totals AS t
                (batch_job_id, stage, mode, model, input_tokens, cached_tokens, output_tokens, reasoning_tokens, calls)
         SELECT $1, stage, mode, model, input_tokens, cached_tokens, output_tokens, reasoning_tokens, calls FROM added WHERE calls > 0
         ON CONFLICT (batch_job_id, stage, mode, model) DO UPDATE SET
           input_tokens = t.input_tokens + EXCLUDED.input_tokens, cached_tokens = t.cached_tokens + EXCLUDED.cached_tokens,
           output_tokens = t.output_tokens + EXCLUDED.output_tokens, reasoning_tokens = t.reasoning_tokens + EXCLUDED.reasoning_tokens,
           calls = t.calls + EXCLUDED.calls
       )
       SELECT * FROM added`,
      [jobId, stage, source.mode, source.model, JSON.stringify(rows)],
    );
    const line = toLine(sum);
    return line.calls > 0 ? line : null;
  }

  /** Each job's usage by stage, mode and model (jobs without usage map to []). */
  async totals(jobIds: string[], runner?: SqlRunner): Promise<Map<string, UsageLine[]>> {
    const out = new Map<string, UsageLine[]>(jobIds.map((id) => [id, []]));
    if (jobIds.length === 0) return out;
    const rows = await query<UsageRow & { batch_job_id: string }>(
      runner ?? this.dataSource,
      `SELECT batch_job_id, stage, mode, model, input_tokens, cached_tokens, output_tokens, reasoning_tokens, calls
         FROM openai_usage_totals WHERE batch_job_id = ANY($1::uuid[])
        ORDER BY batch_job_id, stage DESC, mode, model`,
      [jobIds],
    );
    for (const row of rows) out.get(row.batch_job_id)?.push(toLine(row));
    return out;
  }

  /** One lot's usage by stage, mode and model (what reusing its result saves). */
  async forLot(lotRowId: string, runner?: SqlRunner): Promise<UsageLine[]> {
    const rows = await query<UsageRow>(
      runner ?? this.dataSource,
      `SELECT stage, mode, model, sum(input_tokens) AS input_tokens, sum(cached_tokens) AS cached_tokens,
              sum(output_tokens) AS output_tokens, sum(reasoning_tokens) AS reasoning_tokens, count(*) AS calls
         FROM openai_usage WHERE lot_row_id = $1 GROUP BY stage, mode, model ORDER BY stage DESC, mode, model`,
      [lotRowId],
    );
    return rows.map(toLine);
  }
}

/** The columns of a job's usage totals as `usageTotalsJsonSql` aggregates them (bigints arrive as JSON numbers). */
export type UsageTotalsJson = Record<keyof UsageRow, string | number>[];

/**
 * A job's usage totals as one JSON array in the order of `totals` (`[]` without usage), as a scalar subquery for
 * the owner of `batch_jobs` to embed in its own read: one round trip for a job and its spend (the status hot path).
 * `jobIdColumn` names the outer query's job id column.
 */
export function usageTotalsJsonSql(jobIdColumn: string): string {
  return `(SELECT COALESCE(json_agg(json_build_object('stage', u.stage, 'mode', u.mode, 'model', u.model,
                 'input_tokens', u.input_tokens, 'cached_tokens', u.cached_tokens, 'output_tokens', u.output_tokens,
                 'reasoning_tokens', u.reasoning_tokens, 'calls', u.calls) ORDER BY u.stage DESC, u.mode, u.model), '[]'::json)
             FROM openai_usage_totals u WHERE u.batch_job_id = ${jobIdColumn})`;
}

/** The lines of what `usageTotalsJsonSql` selected. */
export function usageLinesOf(json: UsageTotalsJson): UsageLine[] {
  return json.map((row) => toLine(row as unknown as UsageRow));
}

function toLine(row: UsageRow): UsageLine {
  return {
    stage: row.stage,
    mode: row.mode,
    model: row.model,
    input_tokens: Number(row.input_tokens),
    cached_tokens: Number(row.cached_tokens),
    output_tokens: Number(row.output_tokens),
    reasoning_tokens: Number(row.reasoning_tokens),
    calls: Number(row.calls),
  };
}
