/**
 * The contract between the OpenAI gateway (src/openai) and its users
 * (jobs, batch monitor, translation). Only the gateway imports `openai`.
 */
import type { TokenUsage } from '../jobs/entities/batch-job.entity.js';

export type BatchStageName = 'vision' | 'translation';

/** One request of a batch (or a direct call): `body` is a Responses API request body. */
export interface GatewayRequest {
  /** For batches: the lot row id (`batch_lots.id`); results are matched by it, never by line order. */
  customId: string;
  body: Record<string, unknown>;
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

export type ParsedResult =
  | { ok: true; text: string; usage: TokenUsage }
  | { ok: false; kind: ResultErrorKind; error: string; usage: TokenUsage; statusCode?: number; retryable: boolean };

/** A result line of an output or error file, matched by custom_id. */
export interface BatchResultLine {
  customId: string;
  result: ParsedResult;
}

/** The part of OpenAI's batch object the service acts on. */
export interface BatchSnapshot {
  id: string;
  status: 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
  inputFileId: string;
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
