import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { CapturedRequest } from '../loopback-proxy.js';

/**
 * Judges requests by OpenAI's rules rather than by the emulator's acceptance:
 * the vendored JSON Schemas (schemas/openai-requests.schema.json, closed to
 * unknown properties) plus the rules from OpenAI's guides and Batch API
 * limits that a schema cannot express. Every function returns the list of
 * violations (empty = conforms), each naming where it was found.
 */

const here = dirname(fileURLToPath(import.meta.url));
export const SCHEMA_PATH = join(here, 'schemas', 'openai-requests.schema.json');
const SCHEMA_ID = 'https://generation-service.invalid/openai-requests.schema.json';

/** OpenAI's Batch API limits per input file. */
export const MAX_LINES_PER_FILE = 50_000;
export const MAX_FILE_BYTES = 200 * 1000 * 1000;
/** OpenAI's reasoning guide: "reserving at least 25,000 tokens for reasoning and outputs". */
export const MIN_REASONING_BUDGET = 25_000;

// ajv-formats is CommonJS: its default export arrives as the module object or the function, depending on the loader.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addKeyword('x-openapi').addKeyword('x-sdk');
addFormats(ajv);
ajv.addSchema(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
const validators = new Map<string, ValidateFunction>();

function schemaErrors(def: string, value: unknown, where: string): string[] {
  let validate = validators.get(def);
  if (!validate) {
    validate = ajv.getSchema(`${SCHEMA_ID}#/$defs/${def}`);
    if (!validate) throw new Error(`No vendored schema ${def}`);
    validators.set(def, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'` : '';
    return `${where}: ${def}${e.instancePath} ${e.message ?? e.keyword}${extra}`;
  });
}

/** Same family rule as the service and the emulator (o1, o3, o4-mini, gpt-5*). */
export function isReasoningModel(model: unknown): boolean {
  return typeof model === 'string' && /^(o\d|gpt-5)/i.test(model);
}

/** A `POST /v1/responses` body (direct call or batch line body). */
export function checkCreateResponse(body: unknown, where: string): string[] {
  const errors = schemaErrors('CreateResponse', body, where);
  if (typeof body !== 'object' || body === null) return errors;
  const request = body as Record<string, unknown>;
  if (typeof request.model !== 'string') errors.push(`${where}: model is required (the service never uses stored prompts)`);
  if (request.input === undefined) errors.push(`${where}: input is required`);
  const reasoning = isReasoningModel(request.model);
  if (reasoning) {
    for (const param of ['temperature', 'top_p']) {
      if (request[param] !== undefined && request[param] !== null)
        errors.push(`${where}: ${param} is sent to the reasoning model ${String(request.model)}`);
    }
    const budget = request.max_output_tokens;
    if (typeof budget === 'number' && budget < MIN_REASONING_BUDGET) {
      errors.push(
        `${where}: max_output_tokens ${budget} for the reasoning model ${String(request.model)} is below OpenAI's recommended ${MIN_REASONING_BUDGET}`,
      );
    }
  } else if (request.reasoning !== undefined && request.reasoning !== null) {
    errors.push(`${where}: reasoning is sent to the non-reasoning model ${String(request.model)}`);
  }
  if (request.metadata !== undefined && request.metadata !== null && request.store !== true) {
    errors.push(`${where}: metadata without store: true`);
  }
  const format = (request.text as { format?: { type?: unknown; strict?: unknown; schema?: unknown } } | undefined)?.format;
  if (format?.type === 'json_schema') {
    if (format.strict !== true) errors.push(`${where}: json_schema format without strict: true`);
    else errors.push(...strictSchemaErrors(format.schema, `${where}: text.format.schema`));
  }
  return errors;
}

/**
 * Structured Outputs' strict mode: the root is an object; every object lists
 * all its properties in `required` and sets `additionalProperties: false`,
 * at every level (properties, items, $defs/definitions, anyOf).
 */
export function strictSchemaErrors(schema: unknown, where: string): string[] {
  const errors: string[] = [];
  const root = schema as Record<string, unknown> | undefined;
  if (!root || root.type !== 'object') errors.push(`${where}: the root of a strict schema must be an object`);
  if (root && root.anyOf !== undefined) errors.push(`${where}: the root of a strict schema must not be anyOf`);
  const visit = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const s = node as Record<string, unknown>;
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.includes('object') || s.properties !== undefined) {
      if (s.additionalProperties !== false) errors.push(`${path}: additionalProperties must be false`);
      const properties = Object.keys((s.properties as object | undefined) ?? {});
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      const missing = properties.filter((name) => !required.includes(name));
      if (missing.length > 0) errors.push(`${path}: properties not required: ${missing.join(', ')}`);
      for (const name of properties) visit((s.properties as Record<string, unknown>)[name], `${path}.properties.${name}`);
    }
    if (s.items !== undefined) visit(s.items, `${path}.items`);
    for (const key of ['$defs', 'definitions']) {
      for (const [name, sub] of Object.entries((s[key] as Record<string, unknown> | undefined) ?? {})) visit(sub, `${path}.${key}.${name}`);
    }
    for (const [i, sub] of ((s.anyOf as unknown[] | undefined) ?? []).entries()) visit(sub, `${path}.anyOf[${i}]`);
  };
  visit(schema, where);
  return errors;
}

/** `POST /v1/batches`: the schema, and the file it names must be an uploaded batch file for that endpoint. */
export function checkBatchCreate(body: unknown, where: string, uploads: Map<string, UploadSummary>): string[] {
  const errors = schemaErrors('CreateBatchRequest', body, where);
  const request = (body ?? {}) as { input_file_id?: string; endpoint?: string };
  const file = request.input_file_id ? uploads.get(request.input_file_id) : undefined;
  if (!file) errors.push(`${where}: input_file_id ${String(request.input_file_id)} is not a file this run uploaded`);
  else if (file.url !== request.endpoint)
    errors.push(`${where}: endpoint ${String(request.endpoint)} differs from its lines' url ${String(file.url)}`);
  return errors;
}

export interface UploadSummary {
  lines: number;
  bytes: number;
  model: string | null;
  url: string | null;
  customIds: string[];
}

/** `POST /v1/files` (multipart): fields per the schema, purpose batch, a .jsonl file of valid, unique, one-model lines. */
export function checkUpload(
  captured: Pick<CapturedRequest, 'contentType' | 'body'>,
  where: string,
  limits = { maxLines: MAX_LINES_PER_FILE, maxBytes: MAX_FILE_BYTES },
): { errors: string[]; summary: UploadSummary } {
  const errors: string[] = [];
  const summary: UploadSummary = { lines: 0, bytes: 0, model: null, url: null, customIds: [] };
  const form = parseMultipart(captured.contentType, captured.body);
  if (!form) return { errors: [`${where}: not a multipart/form-data body`], summary };
  const fields: Record<string, string> = {};
  for (const part of form) fields[part.name] = part.filename ?? part.content.toString('utf8');
  errors.push(...schemaErrors('CreateFileRequest', fields, where));
  if (fields.purpose !== 'batch') errors.push(`${where}: purpose ${fields.purpose} (the service uploads only batch input files)`);
  const file = form.find((part) => part.name === 'file');
  if (!file) return { errors, summary };
  if (!file.filename?.endsWith('.jsonl')) errors.push(`${where}: the batch file is named ${String(file.filename)}, not *.jsonl`);
  summary.bytes = file.content.length;
  if (summary.bytes > limits.maxBytes) errors.push(`${where}: ${summary.bytes} bytes, more than ${limits.maxBytes}`);
  const seen = new Set<string>();
  const lines = file.content
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  summary.lines = lines.length;
  if (lines.length === 0) errors.push(`${where}: empty batch file`);
  if (lines.length > limits.maxLines) errors.push(`${where}: ${lines.length} lines, more than ${limits.maxLines}`);
  lines.forEach((text, i) => {
    const at = `${where} line ${i + 1}`;
    let line: { custom_id?: unknown; url?: unknown; body?: { model?: unknown } };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      errors.push(`${at}: not JSON`);
      return;
    }
    errors.push(...schemaErrors('BatchRequestInput', line, at));
    if (typeof line.custom_id === 'string') {
      if (seen.has(line.custom_id)) errors.push(`${at}: duplicate custom_id ${line.custom_id}`);
      seen.add(line.custom_id);
      summary.customIds.push(line.custom_id);
    }
    const url = typeof line.url === 'string' ? line.url : null;
    summary.url ??= url;
    if (url !== summary.url) errors.push(`${at}: url ${String(url)} differs from the file's ${String(summary.url)}`);
    const model = typeof line.body?.model === 'string' ? line.body.model : null;
    summary.model ??= model;
    if (model !== summary.model) errors.push(`${at}: model ${String(model)} in a file of ${String(summary.model)} (one model per file)`);
    if (url === '/v1/responses') errors.push(...checkCreateResponse(line.body, `${at} body`));
  });
  return { errors, summary };
}

export interface ConformanceReport {
  errors: string[];
  /** What was checked, by kind. */
  counts: { responses: number; batchLines: number; uploads: number; batchCreates: number; other: number };
  /** Every Responses body checked (direct calls and batch lines), for assertions on what was covered. */
  bodies: { via: 'direct' | 'batch'; body: Record<string, unknown> }[];
}

/** Validates every captured request the service sent; reads and cancels carry no body to judge. */
export function checkCapturedRequests(requests: CapturedRequest[]): ConformanceReport {
  const report: ConformanceReport = {
    errors: [],
    counts: { responses: 0, batchLines: 0, uploads: 0, batchCreates: 0, other: 0 },
    bodies: [],
  };
  const uploads = new Map<string, UploadSummary>();
  const pendingCreates: { body: unknown; where: string }[] = [];
  requests.forEach((request, i) => {
    const where = `#${i + 1} ${request.method} ${request.path}`;
    if (request.method === 'POST' && request.path === '/v1/responses') {
      report.counts.responses++;
      const body = parseJson(request.body);
      report.errors.push(...checkCreateResponse(body, where));
      if (body && typeof body === 'object') report.bodies.push({ via: 'direct', body: body as Record<string, unknown> });
    } else if (request.method === 'POST' && request.path === '/v1/files') {
      report.counts.uploads++;
      const { errors, summary } = checkUpload(request, where);
      report.errors.push(...errors);
      report.counts.batchLines += summary.lines;
      for (const line of parseJsonl(request)) report.bodies.push({ via: 'batch', body: line });
      const id = request.status === 200 ? uploadedFileId(request) : undefined;
      if (id) uploads.set(id, summary);
    } else if (request.method === 'POST' && request.path === '/v1/batches') {
      report.counts.batchCreates++;
      pendingCreates.push({ body: parseJson(request.body), where });
    } else if (request.method === 'POST' && /^\/v1\/batches\/[^/]+\/cancel$/.test(request.path)) {
      if (request.body.length > 0 && request.body.toString('utf8').trim() !== '' && request.body.toString('utf8').trim() !== '{}') {
        report.errors.push(`${where}: a cancel carries no body`);
      }
    } else if (request.method === 'GET' || request.method === 'DELETE') {
      if (request.body.length > 0) report.errors.push(`${where}: a ${request.method} with a body`);
    } else {
      report.counts.other++;
      report.errors.push(`${where}: a request the conformance checks do not know`);
    }
  });
  for (const create of pendingCreates) report.errors.push(...checkBatchCreate(create.body, create.where, uploads));
  return report;
}

function uploadedFileId(request: CapturedRequest): string | undefined {
  const id = (parseJson(request.response) as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function parseJsonl(request: CapturedRequest): Record<string, unknown>[] {
  const file = parseMultipart(request.contentType, request.body)?.find((part) => part.name === 'file');
  if (!file) return [];
  return file.content
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line): Record<string, unknown>[] => {
      const body = (parseJson(Buffer.from(line)) as { body?: unknown } | undefined)?.body;
      return body && typeof body === 'object' ? [body as Record<string, unknown>] : [];
    });
}

interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  content: Buffer;
}

/** A minimal multipart/form-data reader (RFC 7578): enough for the two-field upload form. */
export function parseMultipart(contentType: string, body: Buffer): FormPart[] | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!/^multipart\/form-data/i.test(contentType) || !boundary) return null;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const raw = body.subarray(start + 2, next - 2); // skip CRLF after the delimiter and before the next one
    const headerEnd = raw.indexOf('\r\n\r\n');
    const headers = raw.subarray(0, headerEnd).toString('utf8');
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const type = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1];
    parts.push({
      name,
      ...(filename !== undefined ? { filename } : {}),
      ...(type ? { contentType: type } : {}),
      content: raw.subarray(headerEnd + 4),
    });
    at = next;
  }
  return parts;
}
