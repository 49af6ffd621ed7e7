import { readFileSync, writeFileSync } from 'node:fs';

export const MB = 1024 * 1024;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The nearest-rank `p`th percentile of `sorted` (ascending); 0 when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

/** The kernel's high-water mark of this process's RSS (VmHWM), in bytes; undefined off Linux. */
function kernelPeakRss(): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false where that is not possible. */
function resetKernelPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Peak RSS while `work` runs: the kernel's exact high-water mark where it can
 * be reset, and RSS sampled every 20 ms otherwise (the sampler also runs
 * when the kernel figure is available, and the larger of the two is kept).
 * `baseline` is the RSS after a full GC just before the work (unless the
 * caller collected already: a full GC is itself an event-loop stall).
 */
export async function peakRss<T>(
  work: () => Promise<T>,
  { collectFirst = true } = {},
): Promise<{ result: T; baseline: number; peak: number }> {
  if (collectFirst) gc();
  const baseline = process.memoryUsage.rss();
  const exact = resetKernelPeak();
  let sampled = baseline;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, 20);
  try {
    const result = await work();
    sampled = Math.max(sampled, process.memoryUsage.rss());
    const kernel = exact ? kernelPeakRss() : undefined;
    return { result, baseline, peak: Math.max(sampled, kernel ?? 0) };
  } finally {
    clearInterval(timer);
  }
}

export interface Row {
  metric: string;
  value: string;
  target: string;
  met: boolean | null;
}

export function printTable(rows: Row[]): void {
  const header: Row = { metric: 'metric', value: 'value', target: 'target', met: null };
  const cells = [header, ...rows].map((row) => [
    row.metric,
    row.value,
    row.target,
    row === header ? 'met?' : row.met === null ? '—' : row.met ? 'yes' : 'NO',
  ]);
  const widths = cells[0].map((_, column) => Math.max(...cells.map((line) => line[column].length)));
  const line = (values: string[]) => values.map((value, column) => value.padEnd(widths[column])).join(' | ');
  console.log(line(cells[0]));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  for (const values of cells.slice(1)) console.log(line(values));
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const megabytes = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Where a frame lives, short: `node_modules/<package>/…` or the project path, with its line. */
function frameLocation(url: string, line: number): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  const short = modules >= 0 ? path.slice(modules + 'node_modules/'.length) : path.replace(/^.*\/dist\//, '');
  return short ? `${short}:${line + 1}` : '(native)';
}

/**
 * With BENCH_PROFILE=<folder>: a CPU profile of this thread (the server's: the load runs in its own thread) while
 * `work` runs, written as `<folder>/<label>.cpuprofile` (Chrome DevTools / speedscope), and its top self-time frames
 * printed. Without it, just `work`.
 */
export async function profiled<T>(label: string, work: () => Promise<T>, top = 15): Promise<T> {
  const folder = process.env.BENCH_PROFILE;
  if (!folder) return work();
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    session.disconnect();
    mkdirSync(folder, { recursive: true });
    const file = `${folder}/${label.replace(/[^\w.-]+/g, '-')}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
    const byFrame = new Map<string, number>();
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      const key = `${functionName || '(anonymous)'} ${frameLocation(url, lineNumber)}`;
      byFrame.set(key, (byFrame.get(key) ?? 0) + (node.hitCount ?? 0));
    }
    console.log(`  profile ${label} → ${file}; top self time of ${total} samples:`);
    for (const [frame, hits] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`    ${((hits / total) * 100).toFixed(1).padStart(5)} %  ${frame}`);
    }
  }
}
