/** The poller's ETA and line format (src/cli/generation/progress.ts), on status answers built here. */
import { PassThrough } from 'node:stream';
import type { JobStatus } from '../../src/client/generation-client.js';
import { createProgressView, estimateRemainingMs, formatDuration, progressLine } from '../../src/cli/generation/progress.js';

const T0 = Date.parse('2026-02-12T10:00:00Z');

function status(
  done: { processed: number; failed?: number },
  extra: { estimated?: string; state?: JobStatus['status']; stage?: string } = {},
): JobStatus {
  return {
    job_id: 'job-1',
    status: extra.state ?? 'processing',
    processing_mode: 'batch',
    languages: ['en', 'de'],
    created_at: '2026-02-12T09:59:00Z',
    updated_at: '2026-02-12T10:00:00Z',
    webhook_configured: false,
    error_message: null,
    name: null,
    metadata: {},
    usage: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, by_stage: [] },
    cost: { total_usd: 0, currency: 'USD', prices_as_of: '2026-07-02', unpriced_models: [] },
    processing_details: { current_stage: extra.stage ?? 'vision', openai_vision_batch_id: null, openai_translation_batch_id: null },
    progress: {
      total_lots: 2000,
      processed_lots: done.processed,
      failed_lots: done.failed ?? 0,
      completion_percentage: Math.round(((done.processed + (done.failed ?? 0)) / 2000) * 1000) / 10,
      estimated_completion: extra.estimated ?? null,
    },
  };
}

test('the rate since the first poll, once lots moved: 500 lots in 50 s leaves 1500 lots for 150 s', () => {
  const first = { at: T0, done: 0 };
  expect(estimateRemainingMs(status({ processed: 490, failed: 10 }), T0 + 50_000, first)).toBe(150_000);
  // The observed rate wins over the service's estimate.
  expect(estimateRemainingMs(status({ processed: 500 }, { estimated: '2026-02-12T11:00:00Z' }), T0 + 50_000, first)).toBe(150_000);
});

test("before anything moved: the service's estimated_completion while it lies ahead, else no guess", () => {
  expect(estimateRemainingMs(status({ processed: 0 }, { estimated: '2026-02-12T10:04:10Z' }), T0, undefined)).toBe(250_000);
  expect(estimateRemainingMs(status({ processed: 0 }, { estimated: '2026-02-12T09:00:00Z' }), T0, undefined)).toBeUndefined();
  expect(estimateRemainingMs(status({ processed: 0 }), T0 + 50_000, { at: T0, done: 0 })).toBeUndefined();
});

test('durations and the plain line', () => {
  expect([formatDuration(45_000), formatDuration(250_000), formatDuration(3_720_000)]).toEqual(['45s', '4m10s', '1h02m']);
  expect(progressLine(status({ processed: 1200, failed: 3 }, { stage: 'translating' }), 250_000, T0 + 5_000)).toBe(
    '[10:00:05] processing, stage translating: 1200/2000 lots processed, 3 failed (60.2%), ETA 4m10s',
  );
  expect(progressLine(status({ processed: 1990, failed: 10 }, { state: 'completed', stage: 'completed' }), undefined, T0)).toMatch(
    /ETA done$/,
  );
});

test('the lines view computes the rate from what it saw', () => {
  const out = new PassThrough();
  let now = T0;
  const view = createProgressView('lines', out, () => now);
  view.update(status({ processed: 0 }));
  now += 10_000;
  view.update(status({ processed: 400 }));
  view.stop();
  const text = String(out.read());
  expect(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/^.*ETA /, '')),
  ).toEqual(['unknown', '40s']);
});

test('the bar view (a terminal) redraws one line with the counts, the stage and our ETA', () => {
  const out = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 200,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  let now = T0;
  const view = createProgressView('bar', out, () => now);
  view.update(status({ processed: 0 }, { estimated: '2026-02-12T10:32:00Z' }));
  now += 10_000;
  view.update(status({ processed: 398, failed: 2 }, { stage: 'vision_analysis' }));
  view.stop();
  const text = String(out.read());
  expect(text).toContain('0/2000 lots, 0 processed, 0 failed | processing (vision) | ETA 32m00s');
  expect(text).toContain('20% | 400/2000 lots, 398 processed, 2 failed | processing (vision_analysis) | ETA 40s');
});
