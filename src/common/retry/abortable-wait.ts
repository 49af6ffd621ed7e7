import { setTimeout as sleep } from 'node:timers/promises';

/** An abortable wait: rejects with `signal.reason` as soon as the signal fires. */
export async function waitMs(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason;
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}
