import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/emulator.js';

export const API_KEY = 'sk-test-emulator-key';

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<{ emu: RunningEmulator; client: OpenAI }> {
  const emu = await startEmulator({ apiKey: API_KEY, batchDurationMs: 200, ...options });
  return { emu, client: new OpenAI({ apiKey: API_KEY, baseURL: emu.url, maxRetries: 0 }) };
}

/** A Responses batch line (the shape the service writes). */
export function batchLine(customId: string, body: Record<string, unknown>, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/responses', body, ...overrides });
}

export function textRequest(info: string, model = 'gpt-4.1-mini'): Record<string, unknown> {
  return { model, input: `Describe the damage.\nAdditional information: ${info}` };
}

export async function uploadJsonl(client: OpenAI, lines: string[], name = 'input.jsonl') {
  return client.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), name), purpose: 'batch' });
}

export async function createBatch(client: OpenAI, lines: string[], metadata?: Record<string, string>): Promise<Batch> {
  const file = await uploadJsonl(client, lines);
  return client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h', metadata });
}

/** Polls with short intervals until `done` holds, or fails after the deadline. */
export async function pollBatch(
  client: OpenAI,
  id: string,
  done: (b: Batch) => boolean,
  deadlineMs = 5000,
  intervalMs = 10,
): Promise<Batch> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (done(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const isTerminal = (b: Batch) => ['completed', 'failed', 'expired', 'cancelled'].includes(b.status);

export async function readJsonl(client: OpenAI, fileId: string): Promise<Record<string, unknown>[]> {
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A loopback image server that counts its hits; `/missing.jpg` answers 404, `/page.html` is not an image. */
export interface ImageServer {
  base: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

export async function startImageServer(): Promise<ImageServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/missing')) return res.writeHead(404).end('not found');
    if (path.startsWith('/page')) return res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    res.writeHead(200, { 'content-type': 'image/png' }).end(PNG_1PX);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
