import { invalidRequest } from './api-error.js';
import type { FilePurpose, FileStore } from './file-store.js';
import type { Route } from './http-server.js';
import { parseMultipart } from './multipart.js';
import { paginate } from './pagination.js';
import type { StatsRecorder } from './stats.js';

const UPLOAD_PURPOSES: FilePurpose[] = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];

/**
 * `/v1/files`. Like OpenAI, an upload with purpose `batch` only checks the
 * file name (`.jsonl`); the lines themselves are checked when a batch is
 * created from the file, and problems make that *batch* end `failed`.
 */
export function fileRoutes(files: FileStore, stats: StatsRecorder): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/files',
      async handler(ctx) {
        const parts = parseMultipart(await ctx.readBody(), ctx.req.headers['content-type']);
        const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
        const purpose = parts.find((p) => p.name === 'purpose')?.data.toString('utf8');
        if (!file) throw invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
        if (purpose === undefined) throw invalidRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter');
        if (!UPLOAD_PURPOSES.includes(purpose as FilePurpose)) {
          throw invalidRequest(
            `Invalid value for 'purpose': '${purpose}'. Supported values are: ${UPLOAD_PURPOSES.map((p) => `'${p}'`).join(', ')}.`,
            'purpose',
            'invalid_value',
          );
        }
        const filename = file.filename ?? 'file';
        if (purpose === 'batch' && !filename.toLowerCase().endsWith('.jsonl')) {
          throw invalidRequest('Invalid file format for Batch API. Must be .jsonl', 'file', 'invalid_file_format');
        }
        const seconds = parts.find((p) => p.name === 'expires_after[seconds]')?.data.toString('utf8');
        stats.increment('filesCreated');
        // Copy: the part is a view into the whole multipart body.
        const object = files.create(filename, purpose as FilePurpose, Buffer.from(file.data), seconds ? Number(seconds) : undefined);
        return { status: 200, json: object };
      },
    },
    {
      method: 'GET',
      path: '/v1/files',
      handler(ctx) {
        const items = files.list(ctx.query.get('purpose'));
        if (ctx.query.get('order') === 'asc') items.reverse();
        return { status: 200, json: paginate(items, ctx.query, 10000, 10000) };
      },
    },
    {
      method: 'GET',
      path: '/v1/files/:id',
      handler(ctx) {
        return { status: 200, json: files.get(ctx.params.id) };
      },
    },
    {
      method: 'GET',
      path: '/v1/files/:id/content',
      handler(ctx) {
        return { status: 200, body: files.content(ctx.params.id), contentType: 'application/octet-stream' };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/files/:id',
      handler(ctx) {
        files.delete(ctx.params.id);
        stats.increment('filesDeleted');
        return { status: 200, json: { id: ctx.params.id, object: 'file', deleted: true } };
      },
    },
  ];
}
