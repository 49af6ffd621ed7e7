/**
 * How `generation poll` shows a job's progress: a redrawn bar on a terminal (cli-progress), one plain line per poll
 * when the output is a pipe or a file, one JSON object per poll with `--json`.
 */
import cliProgress from 'cli-progress';
import type { JobStatus } from '../../client/generation-client.js';

export interface ProgressView {
  update(status: JobStatus): void;
  /** Leaves the last state on screen (the bar's line is ended). */
  stop(): void;
}

export type ProgressMode = 'bar' | 'lines' | 'json';

interface Sample {
  at: number;
  done: number;
}

/** 45s, 4m10s, 1h02m. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

const doneOf = (status: JobStatus) => status.progress.processed_lots + status.progress.failed_lots;

/**
 * Time left: the rate observed since the first poll (lots done per ms) applied to the lots left, once lots have
 * moved; before that the service's own `estimated_completion` if it lies ahead; else undefined (no guess).
 */
export function estimateRemainingMs(status: JobStatus, now: number, first: Sample | undefined): number | undefined {
  const done = doneOf(status);
  if (first && done > first.done && now > first.at) {
    const rate = (done - first.done) / (now - first.at);
    return (status.progress.total_lots - done) / rate;
  }
  const estimate: unknown = status.progress.estimated_completion;
  if (typeof estimate !== 'string') return undefined;
  const at = Date.parse(estimate);
  return Number.isFinite(at) && at > now ? at - now : undefined;
}

/** What every view shows, computed once per poll. */
export function describe(status: JobStatus, remainingMs: number | undefined) {
  const { total_lots: total, processed_lots: processed, failed_lots: failed, completion_percentage: percent } = status.progress;
  const terminal = status.status === 'completed' || status.status === 'failed' || status.status === 'cancelled';
  return {
    status: status.status,
    stage: status.processing_details.current_stage,
    total,
    processed,
    failed,
    done: processed + failed,
    percent,
    eta: terminal ? 'done' : remainingMs === undefined ? 'unknown' : formatDuration(remainingMs),
  };
}

/** One plain line: `[12:00:05] processing, stage vision: 1200/2000 lots processed, 3 failed (60.2%), ETA 4m10s`. */
export function progressLine(status: JobStatus, remainingMs: number | undefined, now: number): string {
  const view = describe(status, remainingMs);
  const clock = new Date(now).toISOString().slice(11, 19);
  return (
    `[${clock}] ${view.status}, stage ${view.stage}: ${view.processed}/${view.total} lots processed, ${view.failed} failed ` +
    `(${view.percent}%), ETA ${view.eta}`
  );
}

export function createProgressView(
  mode: ProgressMode,
  out: NodeJS.WriteStream | NodeJS.WritableStream,
  clock: () => number = Date.now,
): ProgressView {
  let first: Sample | undefined;
  const remaining = (status: JobStatus) => {
    const now = clock();
    const estimate = estimateRemainingMs(status, now, first);
    first ??= { at: now, done: doneOf(status) };
    return { now, estimate };
  };

  if (mode === 'json') {
    return {
      update(status) {
        const { estimate } = remaining(status);
        out.write(JSON.stringify({ ...status, eta_seconds: estimate === undefined ? null : Math.round(estimate / 1000) }) + '\n');
      },
      stop() {},
    };
  }
  if (mode === 'lines') {
    return {
      update(status) {
        const { now, estimate } = remaining(status);
        out.write(progressLine(status, estimate, now) + '\n');
      },
      stop() {},
    };
  }

  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {done}/{total} lots, {processed} processed, {failed} failed | {status} ({stage}) | ETA {eta_text}',
      stream: out,
      hideCursor: true,
      barsize: 30,
      // Redrawn on each poll: cli-progress's own timer would only repaint the same numbers.
      fps: 1,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(status) {
      const { estimate } = remaining(status);
      // `eta` is cli-progress's own placeholder (its guess from the bar's rate): ours travels as `eta_text`.
      const described = describe(status, estimate);
      const view = { ...described, eta_text: described.eta };
      if (!started) {
        bar.start(Math.max(view.total, 1), view.done, view);
        started = true;
      } else {
        bar.setTotal(Math.max(view.total, 1));
        bar.update(view.done, view);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
