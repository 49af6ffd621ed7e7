import { OpenAiGateway } from '../../src/openai/openai-gateway.service.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { visionBody } from './gateway-support.js';

let emu: RunningEmulator;
let t: TestApp;
beforeAll(async () => {
  emu = await startEmulator({ apiKey: 'sk-test', batchDurationMs: 100 });
  t = await startTestApp({ env: { APP_ROLE: 'api' }, openaiBaseUrl: emu.url });
});
afterAll(async () => {
  await t?.close();
  await emu?.close();
});

/** The value of the one series of `name` carrying every label of `labels` (role="api" is added by the registry). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && wanted.every((label) => l.includes(label)) && l.includes('role="api"'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('/metrics counts the gateway’s calls, retries and latency by operation and outcome', async () => {
  const gateway = t.app.get(OpenAiGateway, { strict: false });
  emu.faults.failNext(500, { route: 'POST /v1/responses' });
  expect(await gateway.respond(visionBody({ lotId: 'm', additionalInfo: 'Metrics', imageUrls: [] }))).toMatchObject({ ok: true });
  await expect(gateway.retrieveBatch('batch_does_not_exist')).rejects.toMatchObject({ status: 404 });

  const text = await (await t.manage('/metrics')).text();
  expect(sample(text, 'gs_openai_calls_total', { operation: 'responses.create', outcome: 'server_error' })).toBe(1);
  expect(sample(text, 'gs_openai_calls_total', { operation: 'responses.create', outcome: 'ok' })).toBe(1);
  expect(sample(text, 'gs_openai_retries_total', { operation: 'responses.create' })).toBe(1);
  expect(sample(text, 'gs_openai_calls_total', { operation: 'batches.retrieve', outcome: 'client_error' })).toBe(1);
  expect(sample(text, 'gs_openai_call_duration_seconds_count', { operation: 'responses.create', outcome: 'ok' })).toBe(1);
  expect(sample(text, 'gs_openai_call_duration_seconds_sum', { operation: 'responses.create', outcome: 'ok' })).toBeGreaterThan(0);
  expect(sample(text, 'gs_openai_direct_calls', { state: 'in_flight' })).toBe(0);
});
