import type { BatchSnapshot } from './openai-gateway.types.js';

/** The fields of OpenAI's batch object the service reads (structurally the SDK's `Batch`). */
export interface BatchObject {
  id: string;
  status: BatchSnapshot['status'];
  input_file_id: string;
  output_file_id?: string | null;
  error_file_id?: string | null;
  request_counts?: { total: number; completed: number; failed: number } | null;
  metadata?: Record<string, string> | null;
  errors?: { data?: { code?: string; message?: string; line?: number | null }[] } | null;
  created_at: number;
  in_progress_at?: number | null;
  completed_at?: number | null;
  failed_at?: number | null;
  expired_at?: number | null;
  cancelled_at?: number | null;
  expires_at?: number | null;
}

const toDate = (seconds: number | null | undefined): Date | null => (typeof seconds === 'number' ? new Date(seconds * 1000) : null);

export function toBatchSnapshot(batch: BatchObject): BatchSnapshot {
  return {
    id: batch.id,
    status: batch.status,
    inputFileId: batch.input_file_id,
    outputFileId: batch.output_file_id ?? null,
    errorFileId: batch.error_file_id ?? null,
    requestCounts: {
      total: batch.request_counts?.total ?? 0,
      completed: batch.request_counts?.completed ?? 0,
      failed: batch.request_counts?.failed ?? 0,
    },
    metadata: { ...(batch.metadata ?? {}) },
    errors: (batch.errors?.data ?? []).map((e) => ({
      code: e.code ?? 'unknown',
      message: e.message ?? '',
      line: e.line ?? null,
    })),
    createdAt: new Date(batch.created_at * 1000),
    inProgressAt: toDate(batch.in_progress_at),
    endedAt: toDate(batch.completed_at ?? batch.failed_at ?? batch.expired_at ?? batch.cancelled_at),
    expiresAt: toDate(batch.expires_at),
  };
}
