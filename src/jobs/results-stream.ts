import type { Response } from 'express';
import type { JobRepository } from './job.repository.js';
import type { Job, LotResult } from './job.types.js';
import { lotResultView, resultsHeaderView, type JobSpend } from './job-views.js';

/** Lots per database page; with prefetch at most two pages (a few MB) are in memory at once. */
export const RESULTS_PAGE_SIZE = 1_000;

/**
 * Writes to `res`, waiting for `drain` when the socket buffer is full; each write resolves false once the client has
 * gone. One `drain` and one `close` listener for the whole response: under response compression `drain` listeners
 * go to the compressor while `off()` looks on the response, so per-write listeners would pile up there.
 */
function writerFor(res: Response): (chunk: string) => Promise<boolean> {
  let wake: ((open: boolean) => void) | undefined;
  res.on('drain', () => wake?.(true));
  res.once('close', () => wake?.(false));
  return (chunk) => {
    if (res.destroyed || res.writableEnded) return Promise.resolve(false);
    if (res.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      wake = (open) => {
        wake = undefined;
        resolve(open);
      };
    });
  };
}

/**
 * Streams the results document of a finished job: the same JSON as the
 * `200` body of `GET /batch-results/{job_id}`, built page by page from
 * PostgreSQL (keyset pagination on `position`) so that 50,000 lots × 10
 * languages never sit in memory together. The next page is fetched while the
 * current one is written, and writing waits for the socket to drain.
 *
 * Headers must be set by the caller. A database error after the first byte
 * destroys the socket: the client sees a truncated download, never a
 * well-formed but incomplete document.
 */
export async function streamResults(
  res: Response,
  job: Job,
  store: JobRepository,
  pageSize = RESULTS_PAGE_SIZE,
  spend?: JobSpend,
): Promise<void> {
  const header = JSON.stringify(resultsHeaderView(job, await store.imagesProcessed(job.id), spend));
  const opening = `${header.slice(0, -1)},"results":{"version":${JSON.stringify(job.version)},"lots":[`;
  res.status(200);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  const write = writerFor(res);
  try {
    if (!(await write(opening))) return;
    let first = true;
    let pending: Promise<LotResult[]> | null = store.lotPage(job.id, -1, pageSize);
    while (pending) {
      const page: LotResult[] = await pending;
      pending = page.length === pageSize ? store.lotPage(job.id, page[page.length - 1].position, pageSize) : null;
      if (page.length === 0) break;
      let chunk = '';
      for (const lot of page) {
        chunk += (first ? '' : ',') + JSON.stringify(lotResultView(lot, job.languages));
        first = false;
      }
      if (!(await write(chunk))) {
        await pending?.catch(() => undefined); // the client left; let the query in flight settle quietly
        return;
      }
      // Under response compression, hand the page's compressed bytes to the socket now rather than when the compressor's buffer fills.
      (res as Response & { flush?: () => void }).flush?.();
    }
    if (await write(']}}')) res.end();
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}
