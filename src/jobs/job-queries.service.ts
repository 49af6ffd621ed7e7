import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { isUuid } from '../common/validation/uuid.js';
import type { ListJobsQueryDto } from './dto/list-jobs.query.dto.js';
import type { BatchJob } from './entities/batch-job.entity.js';
import { AppConfig } from '../config/app-config.js';
import { listItemView, statusView, type JobSpend } from './job-views.js';
import { OpenAiUsageRepository } from './usage/openai-usage.repository.js';
import { usageAndCostView } from './usage/usage-views.js';
import { JobRepository } from './job.repository.js';
import { streamResults } from './results-stream.js';
import { JobStatusCache } from './status-cache/job-status-cache.js';

/** The `GET /batch-status` answer, as cached. */
export type StatusAnswer = ReturnType<typeof statusView>;

const notFound = (jobId: string) => new ApiException(404, ErrorCode.JobNotFound, `Job ${jobId} not found`);

/**
 * The reads of the jobs API — a job's status, its results, the list — answered
 * from PostgreSQL alone (SPEC §2: polling never calls OpenAI). Kept apart from
 * JobsService so that nothing the polling routes load reaches the gateway
 * (a rule in test/architecture/dependency-rules.spec.ts).
 */
@Injectable()
export class JobQueriesService {
  constructor(
    private readonly store: JobRepository,
    private readonly usage: OpenAiUsageRepository,
    private readonly config: AppConfig,
    private readonly cache: JobStatusCache<StatusAnswer>,
  ) {}

  /** Each job's usage and cost: sums of its recorded OpenAI usage, priced with the configured table. */
  async spendOf(jobIds: string[]): Promise<Map<string, JobSpend>> {
    const totals = await this.usage.totals(jobIds);
    return new Map([...totals].map(([id, lines]) => [id, usageAndCostView(lines, this.config.openai.prices)]));
  }

  /**
   * `GET /batch-status/{job_id}`: the client's job with its usage and cost — from the status cache when it holds
   * the job (polling), else one database round trip whose answer is cached until the job changes.
   */
  status(clientId: string, jobId: string): StatusAnswer | Promise<StatusAnswer> {
    if (!isUuid(jobId)) throw notFound(jobId);
    const cached = this.cache.lookup(jobId);
    if (cached) {
      if (cached.clientId !== clientId) throw notFound(jobId);
      return cached.view; // synchronous: no promise for the poll that changed nothing
    }
    return this.readStatus(clientId, jobId);
  }

  private async readStatus(clientId: string, jobId: string): Promise<StatusAnswer> {
    const ticket = this.cache.begin();
    const found = await this.store.findJobWithUsage(clientId, jobId);
    if (!found) throw notFound(jobId);
    const answer = statusView(found.job, usageAndCostView(found.usage, this.config.openai.prices));
    this.cache.store(ticket, jobId, clientId, answer);
    return answer;
  }

  /**
   * This process has just committed a change of the job: its cached status goes now, not when the notification
   * arrives, so the answer of the request that changed it (and the client's next poll here) shows the change.
   */
  changed(jobId: string): void {
    this.cache.invalidate(jobId);
  }

  /** The client's job, or 404 — also for another client's job and for ids that are not UUIDs. */
  async getJob(clientId: string, jobId: string): Promise<BatchJob> {
    const job = isUuid(jobId) ? await this.store.findJob(clientId, jobId) : null;
    if (!job) throw notFound(jobId);
    return job;
  }

  /** Streams the results document of a finished job (see results-stream.ts). */
  async streamResults(res: Response, job: BatchJob): Promise<void> {
    return streamResults(res, job, this.store, undefined, (await this.spendOf([job.id])).get(job.id));
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
    const spends = await this.spendOf(jobs.map((job) => job.id));
    return {
      jobs: jobs.map((job) => listItemView(job, spends.get(job.id))),
      pagination: { limit: query.limit, offset: query.offset, total, has_more: query.offset + jobs.length < total },
    };
  }
}
