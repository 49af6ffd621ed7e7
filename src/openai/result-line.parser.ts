import type { BatchResultLine } from './openai-gateway.types.js';
import { asRecord, failure, parseResponseBody, usageOf } from './response-body.parser.js';

/** Best effort: the custom_id of a line that is not valid JSON, so the lot can still be told what happened. */
const CUSTOM_ID = /"custom_id"\s*:\s*"((?:[^"\\]|\\.)*)"/;

/**
 * One line of a batch output or error file → the lot it belongs to and its
 * result. Never throws: a bad line becomes a `malformed` result (customId ''
 * when it cannot be recovered) so one broken line cannot stop the ingestion
 * of the other 49,999. Returns null for blank lines.
 *
 * Shapes (OpenAI Batch API):
 * - success:   {custom_id, response: {status_code: 200, body: <Responses body>}, error: null}
 * - HTTP error:{custom_id, response: {status_code: 400, body: {error: {message, ...}}}, error: null}
 * - not run:   {custom_id, response: null, error: {code: 'batch_expired' | 'batch_cancelled', message}}
 */
export function parseResultLine(line: string): BatchResultLine | null {
  if (line.trim() === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return malformed(recoverCustomId(line), 'The result line is not valid JSON.');
  }
  const record = asRecord(parsed);
  const customId = record?.custom_id;
  if (!record || typeof customId !== 'string' || customId === '') {
    return malformed('', 'The result line has no custom_id.');
  }

  const lineError = asRecord(record.error);
  if (lineError) {
    const code = typeof lineError.code === 'string' ? lineError.code : 'unknown';
    const message = typeof lineError.message === 'string' ? lineError.message : `Batch request error ${code}.`;
    if (code === 'batch_expired') return { customId, result: failure('batch_expired', message, true) };
    // batch_cancelled and the like: the request never ran, so running it again is safe.
    return { customId, result: failure('request_failed', `${code}: ${message}`, true) };
  }

  const response = asRecord(record.response);
  if (!response) return malformed(customId, 'The result line has neither a response nor an error.');
  const status = response.status_code;
  if (status === 200) return { customId, result: parseResponseBody(response.body) };
  if (typeof status !== 'number') return malformed(customId, 'The result line has no numeric status_code.');

  const apiError = asRecord(asRecord(response.body)?.error);
  const message = typeof apiError?.message === 'string' ? apiError.message : `OpenAI answered HTTP ${status}.`;
  return { customId, result: failure('request_failed', message, isTransientStatus(status), usageOf(response.body), status) };
}

/** 408/409/429 and 5xx may succeed on another try; any other 4xx is a property of the request. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function malformed(customId: string, error: string): BatchResultLine {
  // Retryable: the request itself may be fine — only its result line was unreadable.
  return { customId, result: failure('malformed', error, true) };
}

function recoverCustomId(line: string): string {
  const match = CUSTOM_ID.exec(line);
  if (!match) return '';
  try {
    return JSON.parse(`"${match[1]}"`) as string;
  } catch {
    return '';
  }
}
