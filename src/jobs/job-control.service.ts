import { Injectable, Logger } from '@nestjs/common';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import { WorkerSignal } from '../worker/worker-signal.js';
import { JobCancellationHook } from './job-cancellation.hook.js';
import { JobControlRepository, type ControlledJob } from './job-control.repository.js';
import { JobQueriesService } from './job-queries.service.js';
import { JobRepository } from './job.repository.js';
import { ACTIVE_JOB_STATUSES, JobStatus, shownStatus, type JobMetadata } from './job.types.js';
import { MAX_JOB_NAME, METADATA_LIMITS, readMetadata } from './validation/job-metadata.js';
import { UPSTREAM_CANCEL_WAIT_MS } from './upstream-canceller.js';

/** Most lot ids one retry request may name. */
export const MAX_RETRY_LOT_IDS = 50_000;

type Problems = { items: string[]; add(problem: string): void };
const problemList = (): Problems => {
  const items: string[] = [];
  return { items, add: (problem) => items.push(problem) };
};
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function validationFailed(problems: string[]): ApiException {
  return new ApiException(400, ErrorCode.ValidationFailed, problems.slice(0, 5).join('; '), { problems: problems.slice(0, 100) });
}

function conflict(message: string, status: string): ApiException {
  return new ApiException(409, ErrorCode.JobStateConflict, message, { status });
}

/**
 * Job control (issue 13, reference 004): labels, pause and resume, retry of
 * failed lots, deletion. Each command locks the job row (JobControlRepository)
 * and answers with the job's status view; another client's job is 404 like
 * an unknown one. The transitions queue their optional webhook events in the
 * same transaction (through JobCancellationHook, provided by the webhooks module).
 */
@Injectable()
export class JobControlService {
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly control: JobControlRepository,
    private readonly store: JobRepository,
    private readonly queries: JobQueriesService,
    private readonly batches: OpenAiBatchesService,
    private readonly workerSignal: WorkerSignal,
    private readonly hook: JobCancellationHook,
  ) {}

  /** PATCH: merges `metadata` (a null value removes the key) and sets or clears `name`. */
  async update(clientId: string, jobId: string, body: unknown) {
    const problems = problemList();
    if (!isObject(body)) throw validationFailed(['body: must be a JSON object with "metadata" and/or "name"']);
    const unknown = Object.keys(body).filter((key) => key !== 'metadata' && key !== 'name');
    for (const key of unknown) problems.add(`${key}: is not a field of this route (accepted: metadata, name)`);
    if (body.metadata === undefined && body.name === undefined) problems.add('body: send "metadata" and/or "name"');
    if (body.metadata === null) problems.add('metadata: must be an object (a null value removes one key)');
    const changes = readMetadata(body.metadata, problems, { allowNull: true });
    let name: string | null | undefined;
    if (body.name !== undefined) {
      if (body.name === null) name = null;
      else if (typeof body.name !== 'string' || body.name.length > MAX_JOB_NAME || body.name.includes('\0'))
        problems.add(`name: must be a string of at most ${MAX_JOB_NAME} characters, or null`);
      else name = body.name;
    }
    if (problems.items.length > 0) throw validationFailed(problems.items);

    await this.inLockedJob(clientId, jobId, async (job, tx) => {
      let metadata: JobMetadata | undefined;
      if (changes) {
        metadata = { ...job.metadata };
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) delete metadata[key];
          else metadata[key] = value;
        }
        if (Object.keys(metadata).length > METADATA_LIMITS.pairs) {
          throw validationFailed([
            `metadata: at most ${METADATA_LIMITS.pairs} keys after the merge (would be ${Object.keys(metadata).length})`,
          ]);
        }
      }
      await this.control.setLabels(tx, job.id, { metadata, name });
    });
    return this.view(clientId, jobId);
  }

  /** Pauses an active job: no new stage and no new OpenAI call until it is resumed. */
  async pause(clientId: string, jobId: string) {
    await this.inLockedJob(clientId, jobId, async (job, tx) => {
      if (!ACTIVE_JOB_STATUSES.includes(job.status))
        throw conflict(`Only an active job can be paused; this one is ${job.status}`, job.status);
      if (job.paused) throw conflict('The job is already paused', JobStatus.Paused);
      await this.control.pause(tx, job.id);
      await this.hook.onTransition(job.id, 'batch_job_paused', tx);
    });
    this.logger.log({ message: 'paused by the client', job_id: jobId, client_id: clientId });
    return this.view(clientId, jobId);
  }

  /** Resumes a paused job where it stopped; batches that finished at OpenAI meanwhile are ingested at its next step. */
  async resume(clientId: string, jobId: string) {
    await this.inLockedJob(clientId, jobId, async (job, tx) => {
      if (!job.paused || !ACTIVE_JOB_STATUSES.includes(job.status)) {
        throw conflict(`Only a paused job can be resumed; this one is ${shownStatus(job)}`, shownStatus(job));
      }
      await this.control.resume(tx, job.id);
      await this.hook.onTransition(job.id, 'batch_job_resumed', tx);
    });
    this.workerSignal.notify();
    this.logger.log({ message: 'resumed by the client', job_id: jobId, client_id: clientId });
    return this.view(clientId, jobId);
  }

  /**
   * Re-processes the failed lots of a finished job (all of them, or those of
   * `lot_ids`) in the same job. 409 while the job is active or when it was
   * cancelled or has no failed lot; 422 for ids not in the job or not failed.
   */
  async retry(clientId: string, jobId: string, body: unknown) {
    const lotIds = this.readLotIds(body);
    let retried = 0;
    await this.inLockedJob(clientId, jobId, async (job, tx) => {
      const shown = shownStatus(job);
      if (job.status !== JobStatus.Completed && job.status !== JobStatus.Failed) {
        throw conflict(`Only a completed or failed job can be retried; this one is ${shown}`, shown);
      }
      const candidates = await this.control.retryCandidates(tx, job.id, lotIds);
      if (lotIds !== null) {
        const found = new Map(candidates.map((lot) => [lot.lot_id, lot]));
        const unknown = lotIds.filter((id) => !found.has(id));
        const notFailed = lotIds.filter((id) => found.has(id) && found.get(id)!.status !== JobStatus.Failed);
        if (unknown.length > 0 || notFailed.length > 0) {
          throw new ApiException(
            422,
            ErrorCode.ValidationFailed,
            [
              unknown.length > 0 ? `Lots not in this job: ${unknown.slice(0, 10).join(', ')}` : '',
              notFailed.length > 0 ? `Lots that did not fail: ${notFailed.slice(0, 10).join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('; '),
            { unknown_lot_ids: unknown.slice(0, 1000), not_failed_lot_ids: notFailed.slice(0, 1000) },
          );
        }
      }
      if (candidates.length === 0) throw conflict('The job has no failed lot to retry', shown);
      const translate = job.languages.some((language) => language !== 'en');
      await this.control.retry(
        tx,
        job.id,
        candidates.map((lot) => lot.lot_id),
        { translate },
      );
      retried = candidates.length;
      await this.hook.onTransition(job.id, 'batch_job_retried', tx);
    });
    this.workerSignal.notify();
    this.logger.log({ message: `retry of ${retried} failed lot(s) requested by the client`, job_id: jobId, client_id: clientId });
    return { ...(await this.view(clientId, jobId)), retried_lots: retried };
  }

  /**
   * Deletes the job: cancels it if still active (fencing any worker), leaves
   * nothing of it at OpenAI (batches cancelled, files deleted), then removes
   * its row, and with it its lots, batch rows and webhook deliveries.
   */
  async delete(clientId: string, jobId: string): Promise<void> {
    const job = await this.queries.getJob(clientId, jobId);
    if (ACTIVE_JOB_STATUSES.includes(job.status)) await this.store.cancelJob(clientId, job.id);
    const upstream = await this.batches.purgeUpstream(job.id, UPSTREAM_CANCEL_WAIT_MS);
    await this.control.transaction((tx) => this.control.deleteJob(tx, job.id));
    this.queries.changed(job.id);
    this.logger.log({
      message: `deleted (${upstream.batches} OpenAI batch(es), ${upstream.filesDeleted} file(s) deleted at OpenAI, ${upstream.failures} failure(s))`,
      job_id: job.id,
      client_id: clientId,
    });
  }

  private readLotIds(body: unknown): string[] | null {
    if (body === undefined || body === null) return null;
    if (!isObject(body)) throw validationFailed(['body: must be a JSON object, e.g. {"lot_ids": ["lot-1"]}']);
    const unknown = Object.keys(body).filter((key) => key !== 'lot_ids');
    if (unknown.length > 0) throw validationFailed(unknown.map((key) => `${key}: is not a field of this route (accepted: lot_ids)`));
    const ids = body.lot_ids;
    if (ids === undefined || ids === null) return null;
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > MAX_RETRY_LOT_IDS ||
      ids.some((id) => typeof id !== 'string' || id === '')
    ) {
      throw validationFailed([`lot_ids: must be an array of 1 to ${MAX_RETRY_LOT_IDS} lot ids (strings)`]);
    }
    return [...new Set(ids as string[])];
  }

  private async inLockedJob(
    clientId: string,
    jobId: string,
    work: (job: ControlledJob, tx: Parameters<Parameters<JobControlRepository['transaction']>[0]>[0]) => Promise<void>,
  ) {
    const job = await this.queries.getJob(clientId, jobId); // 404 for unknown ids, another client's jobs and non-UUIDs
    await this.control.transaction(async (tx) => {
      const locked = await this.control.lock(tx, clientId, job.id);
      if (!locked) throw new ApiException(404, ErrorCode.JobNotFound, `Job ${jobId} not found`);
      await work(locked, tx);
    });
  }

  /** The job as `GET /batch-status` shows it (usage and cost included), with the change just committed. */
  private view(clientId: string, jobId: string) {
    this.queries.changed(jobId);
    return this.queries.status(clientId, jobId);
  }
}
