import { invalidRequest } from './api-error.js';
import type { BatchEngine } from './batch-engine.js';
import type { FaultControl } from './faults.js';
import type { FileStore } from './file-store.js';
import type { Route } from './http-server.js';
import { paginate } from './pagination.js';

const SUPPORTED_ENDPOINTS = ['/v1/responses'];

/**
 * `/v1/batches`. Creation checks only the request itself (synchronous 400s);
 * the input file's lines are checked afterwards, while the batch is
 * `validating`, exactly as OpenAI does.
 */
export function batchRoutes(batches: BatchEngine, files: FileStore, faults: FaultControl): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/batches',
      async handler(ctx) {
        const body = await ctx.readJson();
        const inputFileId = requireString(body, 'input_file_id');
        const endpoint = requireString(body, 'endpoint');
        const window = requireString(body, 'completion_window');
        if (!SUPPORTED_ENDPOINTS.includes(endpoint)) {
          throw invalidRequest(
            `Invalid value: '${endpoint}'. Supported values are: ${SUPPORTED_ENDPOINTS.map((e) => `'${e}'`).join(', ')}.`,
            'endpoint',
            'invalid_value',
          );
        }
        if (window !== '24h')
          throw invalidRequest(`Invalid value: '${window}'. Supported values are: '24h'.`, 'completion_window', 'invalid_value');
        const metadata = checkMetadata(body.metadata);
        let purpose: string;
        try {
          purpose = files.get(inputFileId).purpose;
        } catch {
          throw invalidRequest(`Invalid 'input_file_id': '${inputFileId}'. No such File object.`, 'input_file_id', 'invalid_value');
        }
        if (purpose !== 'batch') {
          throw invalidRequest(
            `Invalid 'input_file_id': '${inputFileId}'. The file must have purpose 'batch', not '${purpose}'.`,
            'input_file_id',
            'invalid_value',
          );
        }
        return { status: 200, json: batches.create(inputFileId, endpoint, metadata, faults.takeBatch(metadata)) };
      },
    },
    {
      method: 'GET',
      path: '/v1/batches',
      handler(ctx) {
        return { status: 200, json: paginate(batches.list(), ctx.query, 20, 100) };
      },
    },
    {
      method: 'GET',
      path: '/v1/batches/:id',
      handler(ctx) {
        return { status: 200, json: batches.get(ctx.params.id) };
      },
    },
    {
      method: 'POST',
      path: '/v1/batches/:id/cancel',
      handler(ctx) {
        return { status: 200, json: batches.cancel(ctx.params.id) };
      },
    },
  ];
}

function requireString(body: Record<string, unknown>, param: string): string {
  const value = body[param];
  if (value === undefined || value === null)
    throw invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  if (typeof value !== 'string')
    throw invalidRequest(`Invalid type for '${param}': expected a string, but got ${typeof value} instead.`, param, 'invalid_type');
  return value;
}

/** OpenAI's metadata rules: at most 16 pairs, keys up to 64 characters, string values up to 512. */
function checkMetadata(raw: unknown): Record<string, string> | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidRequest("Invalid type for 'metadata': expected an object.", 'metadata', 'invalid_type');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > 16) {
    throw invalidRequest(
      `Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with ${entries.length} properties instead.`,
      'metadata',
      'object_above_max_properties',
    );
  }
  for (const [key, value] of entries) {
    if (key.length > 64) {
      throw invalidRequest(
        `Invalid 'metadata': string too long. Expected a string with maximum length 64, but got a string with length ${key.length} instead.`,
        'metadata',
        'string_above_max_length',
      );
    }
    if (typeof value !== 'string') {
      throw invalidRequest(
        `Invalid type for 'metadata.${key}': expected a string, but got ${typeof value} instead.`,
        `metadata.${key}`,
        'invalid_type',
      );
    }
    if (value.length > 512) {
      throw invalidRequest(
        `Invalid 'metadata.${key}': string too long. Expected a string with maximum length 512, but got a string with length ${value.length} instead.`,
        `metadata.${key}`,
        'string_above_max_length',
      );
    }
  }
  return raw as Record<string, string>;
}
