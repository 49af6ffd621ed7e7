import type { Batch } from 'openai/resources/batches';
import type { BatchSnapshot } from './openai-gateway.types.js';

const toDate = (seconds: number | null | undefined): Date | null => (typeof seconds === 'number' ? new Date(seconds * 1000) : null);

export function toBatchSnapshot(batch: Batch): BatchSnapshot {
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
