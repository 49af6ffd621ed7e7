/**
 * Checks a batch input file the way OpenAI does while a batch is
 * `validating`: problems do not reject the upload or the batch creation, they
 * make the batch end `failed` with `errors.data[]` entries naming the line.
 */
export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** A value as OpenAI echoes it in an error message: strings as written, anything else as JSON. */
const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** One request of the input file, located by byte offsets so the file is never held twice. */
export interface InputLine {
  customId: string;
  start: number;
  end: number;
}

export type ValidationResult = { ok: true; lines: InputLine[]; model: string } | { ok: false; errors: BatchError[] };

export const MAX_REQUESTS_PER_BATCH = 50_000;
export const MAX_INPUT_FILE_BYTES = 200 * 1024 * 1024;
/** OpenAI lists the first problems, not all of them. */
const MAX_REPORTED_ERRORS = 100;

export function validateBatchInput(content: Buffer, endpoint: string): ValidationResult {
  if (content.length > MAX_INPUT_FILE_BYTES) {
    return fail({
      code: 'file_too_large',
      message: `The batch input file is larger than the ${MAX_INPUT_FILE_BYTES} bytes limit.`,
      param: null,
      line: null,
    });
  }
  const ranges = lineRanges(content);
  if (ranges.length === 0) return fail({ code: 'empty_file', message: 'The batch input file is empty.', param: null, line: null });
  if (ranges.length > MAX_REQUESTS_PER_BATCH) {
    return fail({
      code: 'too_many_tasks',
      message: `The batch input file contains ${ranges.length} requests; the limit is ${MAX_REQUESTS_PER_BATCH}.`,
      param: null,
      line: null,
    });
  }

  const errors: BatchError[] = [];
  const lines: InputLine[] = [];
  const seen = new Set<string>();
  let model: string | undefined;
  for (const { start, end, number } of ranges) {
    if (errors.length >= MAX_REPORTED_ERRORS) break;
    const error = (code: string, message: string, param: string | null) => errors.push({ code, message, param, line: number });
    let parsed: unknown;
    try {
      parsed = JSON.parse(content.subarray(start, end).toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      error('invalid_json_line', 'This line is not parseable as valid JSON.', null);
      continue;
    }
    const request = parsed as Record<string, unknown>;
    const customId = request.custom_id;
    if (typeof customId !== 'string' || customId === '') {
      error('missing_required_parameter', "Missing required parameter: 'custom_id'.", 'custom_id');
      continue;
    }
    if (seen.has(customId)) {
      error(
        'duplicate_custom_id',
        'The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.',
        'custom_id',
      );
      continue;
    }
    seen.add(customId);
    if (request.method !== 'POST') {
      if (request.method === undefined) error('missing_required_parameter', "Missing required parameter: 'method'.", 'method');
      else error('invalid_value', `Invalid value: '${shown(request.method)}'. Supported values are: 'POST'.`, 'method');
      continue;
    }
    if (request.url !== endpoint) {
      if (request.url === undefined) error('missing_required_parameter', "Missing required parameter: 'url'.", 'url');
      else error('url_mismatch', `The provided URL '${shown(request.url)}' does not match the batch endpoint '${endpoint}'.`, 'url');
      continue;
    }
    const body = request.body;
    const lineModel = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).model : undefined;
    if (typeof lineModel !== 'string') {
      error('missing_required_parameter', "Missing required parameter: 'body.model'.", 'body.model');
      continue;
    }
    model ??= lineModel;
    if (lineModel !== model) {
      error(
        'model_mismatch',
        `The model '${lineModel}' does not match the model '${model}' of the other requests. A batch may only use one model.`,
        'body.model',
      );
      continue;
    }
    lines.push({ customId, start, end });
  }
  if (errors.length > 0 || model === undefined) return { ok: false, errors };
  return { ok: true, lines, model };
}

function fail(error: BatchError): ValidationResult {
  return { ok: false, errors: [error] };
}

/** Non-blank lines with their 1-based numbers (blank lines, e.g. a trailing newline, are ignored). */
function lineRanges(content: Buffer): { start: number; end: number; number: number }[] {
  const ranges: { start: number; end: number; number: number }[] = [];
  let start = 0;
  let number = 1;
  while (start < content.length) {
    let end = content.indexOf(0x0a, start);
    if (end < 0) end = content.length;
    const lineEnd = end > start && content[end - 1] === 0x0d ? end - 1 : end;
    if (!isBlank(content, start, lineEnd)) ranges.push({ start, end: lineEnd, number });
    start = end + 1;
    number++;
  }
  return ranges;
}

function isBlank(content: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = content[i];
    if (byte !== 0x20 && byte !== 0x09) return false;
  }
  return true;
}
