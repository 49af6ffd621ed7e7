import { createConfig, lintFromString } from '@redocly/openapi-core';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { SAMPLE_NAMES } from '../../src/samples/sample-photos.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { pipelineEnv, tickUntil } from './pipeline-support.js';

/*
 * A newcomer's first try (issue 12): offline, with the emulator standing in
 * for OpenAI, the request examples of the Swagger document — which point at
 * the service's own sample photos — run from submission to a completed job
 * with a description in every requested language.
 */

let emu: RunningEmulator;
let t: TestApp;
let document: any;
beforeAll(async () => {
  // As offline mode starts it (src/bootstrap/runtime.ts): the emulator may fetch the photos from loopback.
  emu = await startEmulator({ port: 0, batchDurationMs: 100, imageNetwork: { allowPrivateNetworks: true, allowLoopback: true } });
  t = await startTestApp({ env: pipelineEnv({ SERVE_SAMPLES: 'true' }), openaiBaseUrl: emu.url });
  document = await (await t.fetch('/docs-json')).json();
});
afterAll(async () => {
  await t?.close();
  await emu?.close();
});

/** A Swagger request example, its photo URLs moved from the configured port to the port this test app listens on. */
function example(name: 'synchronous' | 'batch'): { languages: string[]; lots: { lot_id: string; images: { url: string }[] }[] } {
  const value = document.paths['/api/v1/generate-descriptions'].post.requestBody.content['application/json'].examples[name].value;
  for (const lot of value.lots) {
    for (const image of lot.images) {
      expect(image.url).toMatch(new RegExp(`^http://localhost:${t.config.port}/samples/car-\\d\\.png$`));
      image.url = image.url.replace(`http://localhost:${t.config.port}`, t.url);
    }
  }
  return value;
}

test('the sample photos are served publicly as real PNGs; unknown names are 404', async () => {
  for (const name of SAMPLE_NAMES) {
    const res = await t.fetch(`/samples/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.readUInt32BE(16)).toBe(160); // IHDR width
    expect(bytes.length).toBeLessThan(10 * 1024);
  }
  expect((await t.fetch('/samples/../../etc/passwd')).status).toBe(404);
  expect((await t.fetch('/samples/car-9.png')).status).toBe(404);
});

test('the Swagger batch example completes with descriptions in every requested language', async () => {
  const request = example('batch');
  expect(request.languages.length).toBeGreaterThanOrEqual(2);
  const submitted = await t.postLots(request);
  expect(submitted.status).toBe(201);
  const { job_id: jobId } = (await submitted.json()) as { job_id: string };

  await tickUntil(
    t,
    async () => {
      const body = (await (await t.getJob(`/api/v1/batch-status/${jobId}`, jobId)).json()) as { status: string };
      expect(body.status).not.toMatch(/failed|cancelled/);
      return body.status === 'completed';
    },
    { what: 'the demo job to complete' },
  );
  const results = (await (await t.getJob(`/api/v1/batch-results/${jobId}`, jobId)).json()) as any;
  expect(results.status).toBe('completed');
  expect(results.processing_summary).toMatchObject({ processed_lots: request.lots.length, failed_lots: 0 });
  for (const lot of results.results.lots) {
    expect(lot).toMatchObject({ status: 'completed', missing_images: [], error: null });
    expect(lot.descriptions.map((d: { language: string }) => d.language)).toEqual(request.languages);
    for (const description of lot.descriptions) expect(description.damages).toMatch(/^<p>.+<\/p>$/s);
  }
});

test('the Swagger synchronous example answers 200 with the lot completed in every language', async () => {
  const request = example('synchronous');
  const res = await t.postLots(request);
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  expect(body.lots[0]).toMatchObject({ status: 'completed', missing_images: [], error: null, processed_images: 2 });
  expect(body.lots[0].descriptions.map((d: { language: string }) => d.language)).toEqual(request.languages);
});

test('with the sample route the document still lints clean, the route public and named', async () => {
  const problems = await lintFromString({
    source: JSON.stringify(document),
    absoluteRef: 'docs-json.json',
    config: await createConfig({ extends: ['recommended'] }),
  });
  expect(problems.filter((problem) => problem.severity === 'error')).toEqual([]);
  expect(document.paths['/samples/{name}'].get).toMatchObject({ operationId: 'getSamplePhoto', security: [], tags: ['samples'] });
  expect(document.tags.map((tag: { name: string }) => tag.name)).toContain('samples');
});

test('without offline mode or SERVE_SAMPLES there is no sample route', async () => {
  const plain = await startTestApp({ db: t.db });
  try {
    expect((await plain.fetch('/samples/car-1.png')).status).toBe(404);
    const doc = (await (await plain.fetch('/docs-json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).some((path) => path.startsWith('/samples'))).toBe(false);
  } finally {
    await plain.close();
  }
});
