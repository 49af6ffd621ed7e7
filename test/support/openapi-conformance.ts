import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { appendFileSync } from 'node:fs';

/*
 * The response side of the contract: every answer the suite receives from the
 * app is checked against the OpenAPI document the app itself serves at
 * /docs-json (route + method + status → schema), so the document cannot drift
 * from the code. startTestApp wires it into `fetch`, `postLots` and `getJob`;
 * specs that reach the app another way opt in with `t.conform(...)`.
 *
 * Stricter than the document alone: an object schema that lists its
 * properties and says nothing of others is checked as closed
 * (`additionalProperties: false`), so an undocumented field in an answer fails.
 */

// ajv-formats is CommonJS with `exports.default`; under ESM the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

type Json = Record<string, unknown>;
interface MediaTypeObject {
  schema?: Json;
}
interface ResponseObject {
  content?: Record<string, MediaTypeObject>;
}
interface OperationObject {
  operationId?: string;
  responses: Record<string, ResponseObject>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, Json> };
}

const ROOT_ID = 'openapi-components';
/** Annotation keywords of OpenAPI 3.0 schemas that JSON Schema validators do not know. */
const ANNOTATIONS = ['example', 'xml', 'externalDocs', 'discriminator'];

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A copy of `schema` with component refs pointing into the shared root schema and object schemas closed. */
function prepare(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(prepare);
  if (!isObject(schema)) return schema;
  const copy: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') copy.$ref = value.replace('#/components/schemas/', `${ROOT_ID}#/definitions/`);
    else if (key === 'properties' && isObject(value))
      copy.properties = Object.fromEntries(Object.entries(value).map(([name, property]) => [name, prepare(property)]));
    else if (key === 'example' || key === 'examples') copy[key] = value;
    else copy[key] = prepare(value);
  }
  if (isObject(copy.properties) && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

function mediaTypeOf(header: string | null): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 10)
    .map((error) => `  ${error.instancePath || '(body)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`)
    .join('\n');
}

export class ContractViolation extends Error {}

/** One parsed document with compiled validators, built once per app. */
export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly routes: { template: string; pattern: RegExp; literal: number }[];
  private readonly validators = new Map<string, ValidateFunction>();

  /** `ignored`: path prefixes the check leaves alone (routes a test mounts beside the app's own, e.g. `/probe`). */
  constructor(
    readonly document: OpenApiDocument,
    ignored: readonly string[] = [],
  ) {
    this.ajv = new Ajv({ strict: true, allErrors: true, strictRequired: false, allowUnionTypes: true });
    this.ajv.addVocabulary(ANNOTATIONS);
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: ROOT_ID, definitions: prepare(document.components?.schemas ?? {}) });
    this.routes = Object.keys(document.paths)
      .filter((template) => !ignored.some((prefix) => template === prefix || template.startsWith(prefix + '/')))
      .map((template) => ({
        template,
        pattern: new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
        literal: template.replace(/\{[^}]+\}/g, '').length,
      }))
      // The most literal template first: /jobs/{job_id}/status before /jobs/{job_id}.
      .sort((a, b) => b.literal - a.literal);
  }

  /** The documented operation for a request, or undefined for what the document does not describe (docs, unknown routes). */
  operation(method: string, path: string): { template: string; operation: OperationObject } | undefined {
    const pathname = new URL(path, 'http://x').pathname;
    const route = this.routes.find((candidate) => candidate.pattern.test(pathname));
    if (!route) return undefined;
    const operation = this.document.paths[route.template]?.[method.toLowerCase()];
    return operation ? { template: route.template, operation } : undefined;
  }

  /**
   * Checks status and content type now; returns the body check (schema of the
   * route, method, status and media type) to run on the body's text, or
   * undefined when the body has no schema to meet. Throws ContractViolation.
   */
  check(method: string, path: string, status: number, contentType: string | null): ((text: string) => void) | undefined {
    const found = this.operation(method, path);
    if (!found) return undefined;
    const where = `${method.toUpperCase()} ${found.template} → ${status}`;
    // OPENAPI_CONFORMANCE_LOG=file lists every checked answer: which routes and statuses the suite covers.
    if (process.env.OPENAPI_CONFORMANCE_LOG) appendFileSync(process.env.OPENAPI_CONFORMANCE_LOG, `${where}\n`);
    const response = found.operation.responses[String(status)] ?? found.operation.responses[`${String(status)[0]}XX`];
    if (!response) {
      throw new ContractViolation(
        `${where}: status not documented (documented: ${Object.keys(found.operation.responses).join(', ')}) — request ${path}`,
      );
    }
    const media = mediaTypeOf(contentType);
    const content = response.content ?? {};
    if (Object.keys(content).length === 0) return undefined;
    if (!media || !content[media]) {
      throw new ContractViolation(
        `${where}: content type ${contentType ?? '(none)'} not documented (documented: ${Object.keys(content).join(', ')})`,
      );
    }
    const schema = content[media].schema;
    if (!schema || !/json$/.test(media)) return undefined;
    const key = `${found.template} ${method} ${status} ${media}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(prepare(schema) as Json);
      this.validators.set(key, validate);
    }
    const checkBody = validate;
    return (text: string) => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ContractViolation(`${where}: body is not JSON: ${text.slice(0, 200)}`);
      }
      if (!checkBody(body)) {
        throw new ContractViolation(
          `${where}: body does not match the document — request ${path}\n${describe(checkBody.errors)}\nbody: ${text.slice(0, 600)}`,
        );
      }
    };
  }
}

/** Routes whose 200 is streamed: their body is checked when the test reads it, never read ahead of the test. */
const STREAMED = new Set(['/api/v1/batch-results/{job_id}', '/api/v1/jobs/{job_id}', '/api/v1/batch-results/{job_id}/download']);

/**
 * Checks `response` against the contract and hands it back: status and
 * content type at once; a JSON body from a clone before returning, or — for
 * the streamed results routes — as the test reads it through text()/json()
 * (a test reading the stream itself sees it unchecked, and undisturbed).
 */
export async function conform(contract: OpenApiContract, method: string, path: string, response: Response): Promise<Response> {
  const checkBody = contract.check(method, path, response.status, response.headers.get('content-type'));
  if (!checkBody || method.toUpperCase() === 'HEAD') return response;
  const template = contract.operation(method, path)?.template ?? '';
  if (STREAMED.has(template) && response.status === 200) {
    const readText = response.text.bind(response);
    const text = async () => {
      const body = await readText();
      checkBody(body);
      return body;
    };
    Object.defineProperty(response, 'text', { value: text });
    Object.defineProperty(response, 'json', { value: async (): Promise<unknown> => JSON.parse(await text()) });
    return response;
  }
  checkBody(await response.clone().text());
  return response;
}
