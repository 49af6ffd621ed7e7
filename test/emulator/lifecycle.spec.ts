import OpenAI from 'openai';
import { startEmulator } from '../../src/emulator/emulator.js';
import { waitFor } from '../support/wait.js';
import { createBatch } from './helpers.js';

describe('startEmulator / close', () => {
  it('starts on a random loopback port and closes quickly despite keep-alive sockets and running batches', async () => {
    const emu = await startEmulator({ batchDurationMs: 60_000 });
    expect(emu.url).toBe(`http://127.0.0.1:${emu.port}/v1`);
    expect(emu.port).toBeGreaterThan(0);
    const client = new OpenAI({ apiKey: 'any', baseURL: emu.url, maxRetries: 0 });
    await createBatch(client, ['{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"o4-mini","input":"x"}}']);
    emu.faults.delayNext(10_000, { route: 'GET /v1/batches' });
    const listed = () => emu.stats().requests['GET /v1/batches'] ?? 0;
    const before = listed();
    const pending = client.batches.list().catch((e: unknown) => e); // a request held open by a slow-answer fault
    await waitFor(async () => listed() > before, { timeoutMs: 5_000, what: 'the held request to reach the emulator' });
    const started = Date.now();
    await emu.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
    await expect(emu.close()).resolves.toBeUndefined(); // idempotent
  });

  it('counts requests per route in stats()', async () => {
    const emu = await startEmulator();
    const client = new OpenAI({ apiKey: 'any', baseURL: emu.url, maxRetries: 0 });
    await client.batches.list();
    await client.batches.list();
    await client.batches.retrieve('batch_x').catch(() => undefined);
    await fetch(`${emu.url}/nowhere`);
    const stats = emu.stats();
    expect(stats.requests).toEqual({ 'GET /v1/batches': 2, 'GET /v1/batches/:id': 1, unmatched: 1 });
    expect(stats.totalRequests).toBe(4);
    await emu.close();
  });
});
