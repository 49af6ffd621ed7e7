/**
 * The contract between the OpenAI gateway (src/openai) and its users
 * (vision, translation, the pipeline). Only the gateway imports `openai` at
 * run time; these types come from the SDK so a request line is exactly what
 * the Responses API takes and a batch exactly what the Batch API returns.
 * Nothing here knows about jobs or lots' tables.
 */
import type { Batch } from 'openai/resources/batches';
import type { ResponseCreateParamsNonStreaming, ResponseInputMessageContentList } from 'openai/resources/responses/responses';

/** Re-exported so that request builders (src/vision, src/translation) never import `openai` themselves. */
export type { ResponseCreateParamsNonStreaming, ResponseInputMessageContentList };

/** The two kinds of batches the service submits; named in each batch's metadata. */
export type BatchStageName = 'vision' | 'translation';

/** One request of a batch (or a direct call): `body` is a Responses API request body. */
export interface GatewayRequest {
  /** For batches: the lot row id (`batch_lots.id`); results are matched by it, never by line order. */
  customId: string;
  body: ResponseCreateParamsNonStreaming;
}

/** What a call billed, every counter present (missing ones in the answer count as 0). */
export interface Usage {
  input_tokens: number;
  /** Of `input_tokens`, those served from the prompt cache (`input_tokens_details.cached_tokens`). */
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
}

/** Why a lot's Responses body gave no usable text (each a distinct per-lot error). */
export type ResultErrorKind =
  | 'refusal'
  | 'incomplete'
  | 'no_message'
  | 'empty_text'
  | 'request_failed' // the request itself failed (HTTP error from OpenAI, e.g. image download failure)
  | 'batch_expired'
  | 'malformed';

/**
 * An answer cut at `max_output_tokens` (status `incomplete`) and the one
 * retry it earned with a larger budget (issue 16). Stored on the lot
 * (`batch_lots.budget_retries`) so the attempt, its reason and what it
 * billed stay visible after the lot is done.
 */
export interface BudgetRetry {
  stage: BatchStageName;
  /** Where the incomplete attempt ran. */
  via: 'batch' | 'direct';
  /** `incomplete_details.reason`: always `max_output_tokens` (content_filter is not retried). */
  reason: string;
  /** The budget the incomplete attempt had, and the one the retry gets. */
  max_output_tokens: number;
  retry_max_output_tokens: number;
  /** What the incomplete attempt billed (reasoning included); also added to the lot's and job's usage. */
  usage: Usage;
  at: string;
}

export type ParsedResult =
  | { ok: true; text: string; usage: Usage; budgetRetry?: BudgetRetry }
  | {
      ok: false;
      kind: ResultErrorKind;
      error: string;
      usage: Usage;
      statusCode?: number;
      retryable: boolean;
      /** For `incomplete`: `incomplete_details.reason` and the `max_output_tokens` the answer echoed. */
      incomplete?: { reason: string; maxOutputTokens: number | null };
      budgetRetry?: BudgetRetry;
    };

/** A result line of an output or error file, matched by custom_id. */
export interface BatchResultLine {
  customId: string;
  result: ParsedResult;
}

/** The part of OpenAI's batch object (the SDK's `Batch`) the service acts on, with dates as Dates. */
export interface BatchSnapshot {
  id: Batch['id'];
  status: Batch['status'];
  inputFileId: Batch['input_file_id'];
  outputFileId: string | null;
  errorFileId: string | null;
  requestCounts: { total: number; completed: number; failed: number };
  metadata: Record<string, string>;
  /** errors.data[] codes and messages (validation failure, token_limit_exceeded, ...). */
  errors: { code: string; message: string; line?: number | null }[];
  createdAt: Date;
  /** When OpenAI started running it (null while validating). */
  inProgressAt?: Date | null;
  /** When it reached its terminal status (completed/failed/expired/cancelled), null before. */
  endedAt?: Date | null;
  /** The end of its 24 h completion window. */
  expiresAt?: Date | null;
}

/** A batch the gateway created: one per part when a stage needs several (>50,000 lines or >200 MB). */
export interface SubmittedBatch {
  part: number;
  openaiBatchId: string;
  inputFileId: string;
  requestCount: number;
  customIds: string[];
}

/** What ties a billable call to the caller's claim: aborted with it, and fenced right before the request leaves. */
export interface CallGuard {
  /** Aborts every upload, create or call in flight (the caller lost its claim, or is shutting down). */
  signal?: AbortSignal;
  /** Verifies the caller still holds the job; called immediately before each upload, create and call. */
  fence?: () => Promise<void>;
}
