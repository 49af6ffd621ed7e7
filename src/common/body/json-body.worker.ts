/**
 * Entry point of the parser pool's threads (loaded by piscina from the build:
 * dist/src/common/body/json-body.worker.js). Each thread has a bounded heap;
 * a body that exhausts it ends this thread, not the process.
 */
import { parseJsonBody, type JsonBodyOutcome } from './parse-json-body.js';

export interface JsonBodyTask {
  /** The body's bytes, in a SharedArrayBuffer: the thread reads them where the request handler wrote them. */
  bytes: Uint8Array;
  maxDepth: number;
}

export default function parse(task: JsonBodyTask): JsonBodyOutcome {
  return parseJsonBody(task.bytes, task.maxDepth, 'sliced');
}
