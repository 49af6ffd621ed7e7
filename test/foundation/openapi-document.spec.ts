import { spawnSync } from 'node:child_process';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { startTestApp, type TestApp, json } from '../support/app.js';
import { ContractViolation } from '../support/openapi-conformance.js';

/*
 * The document served at /docs-json is what SDK generators and Swagger UI consume: it must be valid
 * (Redocly's recommended rules, swagger-parser), name every operation for code generation, and say
 * exactly what the answers are (test/support/openapi-conformance.ts checks every answer of the suite).
 */

let t: TestApp;
let document: any;
let source: string;
beforeAll(async () => {
  t = await startTestApp();
  const res = await t.fetch('/docs-json');
  source = await res.text();
  document = JSON.parse(source);
});
afterAll(() => t.close());

const operations = () =>
  Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation, name: `${method.toUpperCase()} ${path}` })),
  );

/** Redocly warnings that cannot be fixed honestly; any other warning fails. */
const ACCEPTED_WARNINGS = [
  // The service is UNLICENSED: there is no licence URL to give.
  'info-license-strict #/info/license/url',
  // The public probes take no input and answer 200 or 503 only.
  'operation-4xx-response #/paths/~1health/get/responses',
  'operation-4xx-response #/paths/~1health~1live/get/responses',
  'operation-4xx-response #/paths/~1health~1ready/get/responses',
];

test('Redocly (recommended rules) reports no error, and no warning beyond the accepted ones', async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'docs-json.json', config });
  const rendered = problems.map(
    (problem) => `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer ?? ''}: ${problem.message}`,
  );
  expect(rendered.filter((line) => line.startsWith('error'))).toEqual([]);
  const warnings = problems.filter((problem) => problem.severity === 'warn').map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}`);
  expect(warnings.sort()).toEqual([...ACCEPTED_WARNINGS].sort());
});

test('swagger-parser validates the document', () => {
  const validator = new URL('../support/openapi-validate.mjs', import.meta.url).pathname;
  const validation = spawnSync(process.execPath, [validator], { input: source, encoding: 'utf8' });
  expect(validation.stdout.trim()).toBe('valid');
});

test('every operation has a stable, unique operationId named for SDK generation', () => {
  const ids = Object.fromEntries(operations().map(({ name, operation }) => [name, operation.operationId]));
  expect(ids).toEqual({
    'POST /api/v1/generate-descriptions': 'generateDescriptions',
    'GET /api/v1/batch-status/{job_id}': 'getBatchStatus',
    'GET /api/v1/jobs/{job_id}/status': 'getJobStatus',
    'GET /api/v1/batch-results/{job_id}': 'getBatchResults',
    'GET /api/v1/jobs/{job_id}': 'getJobResults',
    'GET /api/v1/batch-results/{job_id}/download': 'downloadBatchResults',
    'GET /api/v1/batch-jobs': 'listBatchJobs',
    'POST /api/v1/batch-jobs/{job_id}/cancel': 'cancelBatchJob',
    'PATCH /api/v1/batch-jobs/{job_id}': 'updateBatchJob',
    'DELETE /api/v1/batch-jobs/{job_id}': 'deleteBatchJob',
    'POST /api/v1/batch-jobs/{job_id}/pause': 'pauseBatchJob',
    'POST /api/v1/batch-jobs/{job_id}/resume': 'resumeBatchJob',
    'POST /api/v1/batch-jobs/{job_id}/retry': 'retryBatchJob',
    'POST /openai/webhooks': 'receiveOpenAiWebhook',
    'GET /api/v1/batch-jobs/{job_id}/webhook-deliveries': 'listWebhookDeliveries',
    'POST /api/v1/batch-jobs/{job_id}/webhooks/redeliver': 'redeliverWebhooks',
    'GET /health': 'getHealth',
    'GET /health/live': 'getLiveness',
    'GET /health/ready': 'getReadiness',
  });
  const all = Object.values(ids);
  expect(new Set(all).size).toBe(all.length);
  for (const id of all) expect(id).toMatch(/^[a-z][A-Za-z]+$/);
});

test('servers, global tags with descriptions, and security: [] exactly on the public routes', () => {
  expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
  const tags = (document.tags as { name: string; description: string }[]).map((tag) => tag.name);
  for (const tag of document.tags) expect(tag.description).toEqual(expect.any(String));
  for (const { name, path, operation } of operations()) {
    for (const tag of operation.tags) expect([name, tags]).toEqual([name, expect.arrayContaining([tag])]);
    // Public: the probes, and OpenAI's webhooks (verified with OPENAI_WEBHOOK_SECRET, not our HMAC).
    if (/^\/(health|openai\/webhooks)/.test(path)) expect([name, operation.security]).toEqual([name, []]);
    else {
      expect([name, operation.security]).toEqual([name, expect.arrayContaining([{ hmac: [] }])]);
      expect([name, Object.keys(operation.responses)]).toEqual([name, expect.arrayContaining(['401', '403'])]);
      for (const code of ['MALFORMED_SIGNATURE', 'SIGNATURE_EXPIRED', 'SIGNATURE_REPLAYED'])
        expect(operation.responses['401'].description).toContain(code);
      for (const code of ['UNKNOWN_KEY', 'CONTENT_DIGEST_MISMATCH', 'SIGNATURE_SCHEME_DISABLED'])
        expect(operation.responses['403'].description).toContain(code);
    }
  }
});

test('every error answer documents the {error, message, code, details?} shape with an example', () => {
  const schemas = document.components.schemas;
  for (const { name, operation } of operations()) {
    for (const [status, response] of Object.entries<any>(operation.responses)) {
      if (Number(status) < 400) continue;
      const media = response.content['application/json'];
      const refs: string[] = media.schema.$ref ? [media.schema.$ref] : media.schema.anyOf.map((s: { $ref: string }) => s.$ref);
      for (const ref of refs) {
        const schema = schemas[ref.split('/').pop()!];
        expect([name, status, schema.required]).toEqual([name, status, expect.arrayContaining(['error', 'message', 'code'])]);
      }
      const examples = Object.values<any>(media.examples ?? {}).map((example) => example.value);
      if (media.example) examples.push(media.example);
      expect([name, status, examples.length > 0]).toEqual([name, status, true]);
      for (const example of examples)
        expect(example).toEqual(expect.objectContaining({ error: expect.any(String), code: expect.any(String) }));
    }
  }
});

/** Every schema node of the document, with its JSON pointer. */
function* schemaNodes(node: unknown, pointer = '#'): Generator<[string, Record<string, any>]> {
  if (Array.isArray(node)) for (const [i, item] of node.entries()) yield* schemaNodes(item, `${pointer}/${i}`);
  else if (node && typeof node === 'object') {
    yield [pointer, node as Record<string, any>];
    for (const [key, value] of Object.entries(node))
      if (key !== 'example' && key !== 'examples') yield* schemaNodes(value, `${pointer}/${key}`);
  }
}

test('types are exact: nullable strings are strings, counts are integers, times are date-times, lot_id is bounded', () => {
  for (const [pointer, node] of schemaNodes(document.components.schemas)) {
    if (node.nullable) expect([pointer, node.type]).not.toEqual([pointer, 'object']);
    if (node.type === 'object' && !node.properties && !node.additionalProperties) throw new Error(`${pointer}: an object of nothing`);
    if (/(_at|estimated_completion)$/.test(pointer)) expect([pointer, node.format]).toEqual([pointer, 'date-time']);
    if (
      /(_lots|total_images_processed|processed_images|_count|\/limit|\/offset|\/total)$/.test(pointer) &&
      !pointer.includes('/properties/progress')
    )
      expect([pointer, node.type]).toEqual([pointer, 'integer']);
  }
  const schemas = document.components.schemas;
  expect(schemas.LotDto.properties.lot_id).toMatchObject({ type: 'string', minLength: 1, maxLength: 256 });
  expect(schemas.LotDto.properties.additional_info).toMatchObject({ type: 'string', nullable: true });
  expect(schemas.LotDto.properties.webhook).toMatchObject({ type: 'string', nullable: true });
  expect(schemas.JobStatusDto.properties.error_message).toMatchObject({ type: 'string', nullable: true });
  expect(schemas.ProcessingDetailsDto.properties.openai_vision_batch_id).toMatchObject({ type: 'string', nullable: true });
  const list = document.paths['/api/v1/batch-jobs'].get.parameters;
  expect(list.find((p: any) => p.name === 'limit').schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
  expect(list.find((p: any) => p.name === 'offset').schema).toMatchObject({ type: 'integer', minimum: 0 });
  expect(list.find((p: any) => p.name === 'created_after').schema).toMatchObject({ type: 'string', format: 'date-time' });
});

test("list filters carry no example: Swagger UI's Try it out must not pre-fill them", () => {
  for (const parameter of document.paths['/api/v1/batch-jobs'].get.parameters) {
    expect([parameter.name, parameter.example, parameter.examples, parameter.schema.example]).toEqual([
      parameter.name,
      undefined,
      undefined,
      undefined,
    ]);
  }
});

describe('the response check itself (every answer of the suite goes through it)', () => {
  test('an answer that contradicts its schema fails with the route, the status and the schema errors', async () => {
    const contract = await t.contract();
    const check = contract.check('GET', '/api/v1/batch-status/550e8400-e29b-41d4-a716-446655440000', 200, 'application/json');
    expect(() => check!(JSON.stringify({ job_id: 'x', status: 'processing' }))).toThrow(ContractViolation);
    expect(() => check!('{}')).toThrow(/GET \/api\/v1\/batch-status\/\{job_id\} → 200: body does not match[\s\S]*required/);
  });

  test('an undocumented status, content type or property fails too', async () => {
    const contract = await t.contract();
    expect(() => contract.check('GET', '/api/v1/batch-jobs', 418, 'application/json')).toThrow(/status not documented/);
    expect(() => contract.check('GET', '/api/v1/batch-jobs', 200, 'text/html')).toThrow(/content type text\/html not documented/);
    const notFound = contract.check('GET', '/api/v1/jobs/550e8400-e29b-41d4-a716-446655440000', 404, 'application/json')!;
    const body = { error: 'Job not found', message: 'Job x not found', code: 'JOB_NOT_FOUND' };
    expect(() => notFound(JSON.stringify(body))).not.toThrow();
    expect(() => notFound(JSON.stringify({ ...body, stack: 'at x' }))).toThrow(/additional properties/);
  });

  test('a real answer passes through unchanged and can still be read', async () => {
    const res = await t.fetch('/api/v1/batch-jobs', { signWith: '' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ jobs: [], pagination: { total: 0 } });
  });
});
