import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { GatewayRequest } from './openai-gateway.types.js';

export interface BatchPartLimits {
  /** OpenAI accepts at most 50,000 requests per batch input file. */
  maxRequests: number;
  /** OpenAI accepts at most 200 MB per batch input file; stay below it with a margin. */
  maxBytes: number;
}

export const OPENAI_BATCH_LIMITS: BatchPartLimits = { maxRequests: 50_000, maxBytes: 190 * 1024 * 1024 };

/** One finished JSONL file on disk, ready to upload (and to upload again if the first try fails). */
export interface BatchFilePart {
  part: number;
  path: string;
  bytes: number;
  customIds: string[];
  model: string;
}

/**
 * Streams requests into JSONL files on disk, one per part, cutting a new part
 * before a line would pass either limit. Each part is yielded (for upload +
 * create) before the next one is written, so a 50,000-lot stage never exists
 * as one string in memory and a batch id is known as early as possible. A
 * part's file is removed once the consumer asks for the next one; all files
 * live in a private temp directory removed at the end (or when the consumer
 * stops early).
 *
 * Rejects before anything is uploaded for requests OpenAI would fail the whole
 * batch for: a duplicate or empty custom_id, a second model in one stage, or a
 * single line larger than a whole file may be.
 */
export async function* writeBatchParts(
  requests: AsyncIterable<GatewayRequest> | Iterable<GatewayRequest>,
  limits: BatchPartLimits,
  endpoint: string,
): AsyncGenerator<BatchFilePart, void, undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-batch-'));
  const seen = new Set<string>();
  let current: { part: BatchFilePart; stream: WriteStream } | undefined;
  let model: string | undefined;
  let partNumber = 0;

  const close = async (): Promise<BatchFilePart | undefined> => {
    if (!current) return undefined;
    const { part, stream } = current;
    current = undefined;
    stream.end();
    await finished(stream);
    return part;
  };

  try {
    for await (const request of requests) {
      const { customId, body } = request;
      if (typeof customId !== 'string' || customId === '') throw new Error('Every batch request needs a non-empty customId.');
      if (seen.has(customId)) throw new Error(`Duplicate customId in one batch stage: ${customId}`);
      seen.add(customId);
      const requestModel = typeof body.model === 'string' ? body.model : '';
      model ??= requestModel;
      if (requestModel !== model) throw new Error(`One batch stage must use one model (got ${model} and ${requestModel}).`);

      const line = `${JSON.stringify({ custom_id: customId, method: 'POST', url: endpoint, body })}\n`;
      const size = Buffer.byteLength(line);
      if (size > limits.maxBytes) throw new Error(`Batch request ${customId} is ${size} bytes, more than a whole batch file may hold.`);
      if (current && (current.part.customIds.length >= limits.maxRequests || current.part.bytes + size > limits.maxBytes)) {
        const full = await close();
        if (full) {
          yield full;
          await rm(full.path, { force: true });
        }
      }
      if (!current) {
        partNumber++;
        const path = join(dir, `part-${partNumber}.jsonl`);
        current = { part: { part: partNumber, path, bytes: 0, customIds: [], model }, stream: createWriteStream(path) };
      }
      current.part.bytes += size;
      current.part.customIds.push(customId);
      // Respect backpressure: the disk, not memory, absorbs a fast producer.
      if (!current.stream.write(line)) await once(current.stream, 'drain');
    }
    const last = await close();
    if (last) yield last;
  } finally {
    current?.stream.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
