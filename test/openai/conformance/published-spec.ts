import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { CapturedRequest } from '../loopback-proxy.js';
import { parseMultipart } from './openai-conformance.js';

/**
 * Optional second judge: validates captured requests against OpenAI's
 * published OpenAPI document itself (github.com/openai/openai-openapi,
 * openapi.json), read from a local path at run time — it is not vendored.
 * Request objects are closed at their top level with
 * `unevaluatedProperties: false` (the published schemas are `allOf`
 * compositions, so `additionalProperties` cannot close them).
 */
export function checkAgainstPublishedSpec(path: string, requests: CapturedRequest[]): string[] {
  // OpenAPI's `oneOf` means "one of these shapes" (often with a discriminator); as JSON Schema it is ambiguous
  // where shapes overlap (a `{role, content}` message is both an EasyInputMessage and an InputMessage), so it is read as anyOf.
  const text = readFileSync(path, 'utf8').replace(/"oneOf":/g, '"anyOf":');
  const document = JSON.parse(text) as { components: { schemas: Record<string, unknown> } };
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  ajv.addSchema({ $id: 'openapi', components: document.components });
  const closed = (name: string) => ajv.compile({ $ref: `openapi#/components/schemas/${name}`, unevaluatedProperties: false });
  const createResponse = closed('CreateResponse');
  const createBatch = closed('CreateBatchRequest');
  const errors: string[] = [];
  const check = (validate: ReturnType<typeof closed>, value: unknown, where: string) => {
    if (!validate(value))
      errors.push(...(validate.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`));
  };
  requests.forEach((request, i) => {
    const where = `#${i + 1} ${request.method} ${request.path}`;
    if (request.method !== 'POST') return;
    if (request.path === '/v1/responses') check(createResponse, JSON.parse(request.body.toString('utf8')), where);
    else if (request.path === '/v1/batches') check(createBatch, JSON.parse(request.body.toString('utf8')), where);
    else if (request.path === '/v1/files') {
      const file = parseMultipart(request.contentType, request.body)?.find((part) => part.name === 'file');
      file?.content
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .forEach((line, n) => check(createResponse, (JSON.parse(line) as { body: unknown }).body, `${where} line ${n + 1} body`));
    }
  });
  return errors;
}
