/**
 * src/client/generated/openapi.d.ts is what openapi-typescript makes of the service's document: the generator script
 * (`npm run client:generate`, built by pretest) prints the document it builds, the test renders it and compares the
 * result with the committed file, so a controller or DTO change not followed by `npm run client:generate` fails the
 * suite. That document must be the one the running app serves at /docs-json. And the types do their job: a path the
 * document lacks does not compile.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { GENERATED_TYPES_PATH, renderClientTypes } from '../../src/client/client-types.js';
import { json, startTestApp, type TestApp } from '../support/app.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let t: TestApp;
let served: { paths: Record<string, unknown> };
let generated: { paths: Record<string, unknown> };
beforeAll(async () => {
  const [app, { stdout }] = await Promise.all([
    startTestApp({ env: { APP_ROLE: 'api' } }),
    promisify(execFile)(process.execPath, [join(ROOT, 'dist/src/cli/generate-client.js'), '--print-document'], {
      maxBuffer: 64 * 1024 * 1024,
    }),
  ]);
  t = app;
  generated = JSON.parse(stdout) as typeof generated;
  served = await json(await t.fetch('/docs-json'));
});
afterAll(() => t.close());

test('the committed generated types are what the current document generates', async () => {
  const committed = await readFile(join(ROOT, GENERATED_TYPES_PATH), 'utf8');
  const fresh = await renderClientTypes(generated);
  if (fresh !== committed) {
    throw new Error(
      `${GENERATED_TYPES_PATH} is out of date with the OpenAPI document: run \`npm run client:generate\` and commit the result`,
    );
  }
  expect(fresh).toContain('"/api/v1/batch-status/{job_id}"');
});

test('the generator builds, without a database (Nest preview mode), the document the app serves', () => {
  // Whole documents: @HealthCheck's own Swagger decorators are off (they apply only where @nestjs/terminus can
  // require() @nestjs/swagger, which Jest's loader cannot), so the suite sees exactly what production serves.
  expect(Object.keys(generated.paths).sort()).toEqual(Object.keys(served.paths).sort());
  expect(generated).toEqual(served);
});

test('the generated paths refuse a route the document does not have, at compile time', () => {
  const file = join(ROOT, 'test/client/__path-check.ts');
  const source = `
    import createClient from 'openapi-fetch';
    import type { paths } from '../../src/client/generated/openapi.js';
    const api = createClient<paths>({ baseUrl: 'http://127.0.0.1' });
    export const good = api.GET('/api/v1/batch-status/{job_id}', { params: { path: { job_id: 'j' } } });
    export const wrongPath = api.GET('/api/v1/batch-state/{job_id}', { params: { path: { job_id: 'j' } } });
    export const wrongMethod = api.DELETE('/api/v1/batch-status/{job_id}', { params: { path: { job_id: 'j' } } });
    export const missingParam = api.GET('/api/v1/batch-results/{job_id}', {});
  `;
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFileFromDisk = host.readFile.bind(host);
  host.readFile = (name) => (resolve(name) === file ? source : readFileFromDisk(name));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const lines = ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file && resolve(diagnostic.file.fileName) === file)
    .map((diagnostic) => diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start!).line);
  const lineOf = (name: string) => source.split('\n').findIndex((line) => line.includes(`const ${name} `));
  expect([...new Set(lines)].sort()).toEqual([lineOf('wrongPath'), lineOf('wrongMethod'), lineOf('missingParam')].sort());
});
