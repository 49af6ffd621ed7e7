import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { isUuid } from '../common/validation/uuid.js';
import type { ListJobsQueryDto } from './dto/list-jobs.query.dto.js';
import type { BatchJob } from './entities/batch-job.entity.js';
import { listItemView } from './job-views.js';
import { JobRepository } from './job.repository.js';
import { streamResults } from './results-stream.js';

/**
 * The reads of the jobs API — a job's status, its results, the list — answered
 * from PostgreSQL alone (SPEC §2: polling never calls OpenAI). Kept apart from
 * JobsService so that nothing the polling routes load reaches the gateway
 * (a rule in test/architecture/dependency-rules.spec.ts).
 */
@Injectable()
export class JobQueriesService {
  constructor(private readonly store: JobRepository) {}

  /** The client's job, or 404 — also for another client's job and for ids that are not UUIDs. */
  async getJob(clientId: string, jobId: string): Promise<BatchJob> {
    const job = isUuid(jobId) ? await this.store.findJob(clientId, jobId) : null;
    if (!job) throw new ApiException(404, ErrorCode.JobNotFound, `Job ${jobId} not found`);
    return job;
  }

  /** Streams the results document of a finished job (see results-stream.ts). */
  streamResults(res: Response, job: BatchJob): Promise<void> {
    return streamResults(res, job, this.store);
  }

  async listJobs(clientId: string, query: ListJobsQueryDto, metadata?: Record<string, string>) {
    const [jobs, total] = await this.store.listJobs(clientId, {
      status: query.status,
      createdAfter: query.created_after ? new Date(query.created_after) : undefined,
      createdBefore: query.created_before ? new Date(query.created_before) : undefined,
      metadata,
      limit: query.limit,
      offset: query.offset,
    });
    return {
      jobs: jobs.map(listItemView),
      pagination: { limit: query.limit, offset: query.offset, total, has_more: query.offset + jobs.length < total },
    };
  }
}
