import { Injectable } from '@nestjs/common';
import type { SqlRunner, Transaction } from '../database/sql.js';
import { JobClaimRepository, type ClaimedRow } from './job-claim.repository.js';
import { JobStatus, type Job, type JobClaim, type JobPatch, type LotCounts, type LotResult, type TokenUsage } from './job.types.js';
import type { LotOutcome, LotResultTarget, WriteSummary } from './lot-outcome.types.js';
import { AppConfig } from '../config/app-config.js';
import { isUuid } from '../common/validation/uuid.js';
import { OpenAiUsageRepository } from './usage/openai-usage.repository.js';
import { UsageMetrics } from './usage/usage-metrics.js';
import type { UsageLine } from './usage/usage.types.js';
import { usageAndCostView, type CostView } from './usage/usage-views.js';
import { LotRepository, type ImageCheckResult, type UncheckedLot, type WaitingLot, type WebhookLotSize } from './lot.repository.js';

export type { ClaimedRow } from './job-claim.repository.js';
export type { ImageCheckResult, UncheckedLot, WaitingLot, WebhookLotSize } from './lot.repository.js';

/** How a job ended (null from `finish` when the claim was lost first). */
export interface JobEnding {
  status: JobStatus.Completed | JobStatus.Failed;
  completed: number;
  failed: number;
}

/**
 * What the rest of the service may ask of jobs and lots (the pipeline,
 * webhooks, metrics): `batch_jobs` and `batch_lots` belong to this module,
 * and nobody else runs SQL on them. Writes on a held job name its claim.
 */
@Injectable()
export class JobPipelineService {
  constructor(
    private readonly jobs: JobClaimRepository,
    private readonly lots: LotRepository,
    private readonly usage: OpenAiUsageRepository,
    private readonly usageMetrics: UsageMetrics,
    private readonly config: AppConfig,
  ) {}

  // Claims.
  claimDue(args: { limit: number; instanceId: string; liveInstanceIds: string[]; leaseSeconds: number }): Promise<ClaimedRow[]> {
    return this.jobs.claimDue(args);
  }
  fence(claim: JobClaim, leaseSeconds: number): Promise<boolean> {
    return this.jobs.fence(claim, leaseSeconds);
  }
  renewClaims(tokens: string[], leaseSeconds: number): Promise<Set<string>> {
    return this.jobs.renewClaims(tokens, leaseSeconds);
  }
  releaseClaims(tokens: string[]): Promise<number> {
    return this.jobs.releaseClaims(tokens);
  }

  // Fenced writes on a held job.
  recordStage(
    claim: JobClaim,
    patch: JobPatch,
    options: { release?: { delayMs: number; resetErrors: boolean }; tx?: Transaction } = {},
  ): Promise<boolean> {
    return this.jobs.recordStage(claim, patch, options);
  }
  recordError(claim: JobClaim, message: string, delayMs: number): Promise<number> {
    return this.jobs.recordError(claim, message, delayMs);
  }
  recordBatchId(tx: Transaction, claim: JobClaim, stage: 'vision' | 'translation', openaiBatchId: string): Promise<boolean> {
    return this.jobs.recordBatchId(tx, claim, stage, openaiBatchId);
  }

  /**
   * Ends a held job, in the caller's transaction (its webhook deliveries commit
   * with it). With `failure` the job fails with that reason and so do its
   * unfinished lots; otherwise the lots decide: `completed` when at least one
   * lot got its descriptions, `failed` when every lot failed.
   */
  async finish(tx: Transaction, claim: JobClaim, finishedAt: Date, failure?: string): Promise<JobEnding | null> {
    await this.lots.failUnfinished(tx, claim.jobId, failure ?? 'The job ended before this lot was processed.');
    const counts = await this.lots.counts(claim.jobId, tx);
    const completed = counts[JobStatus.Completed] ?? 0;
    const failed = counts[JobStatus.Failed] ?? 0;
    const status = failure === undefined && completed > 0 ? JobStatus.Completed : JobStatus.Failed;
    const errorMessage =
      status === JobStatus.Completed
        ? null
        : (failure ?? `All ${failed} lot(s) failed. First error: ${(await this.lots.firstFailure(tx, claim.jobId)) ?? 'unknown'}`);
    const changed = await this.jobs.recordStage(
      claim,
      { status, currentStage: status, processedLots: completed, failedLots: failed, completedAt: finishedAt, errorMessage },
      { release: { delayMs: 0, resetErrors: true }, tx },
    );
    return changed ? { status, completed, failed } : null;
  }

  // Batches found at OpenAI.
  adoptBatchId(tx: Transaction, jobId: string, stage: 'vision' | 'translation', openaiBatchId: string): Promise<void> {
    return this.jobs.adoptBatchId(tx, jobId, stage, openaiBatchId);
  }
  statusOf(tx: SqlRunner, jobId: string): Promise<JobStatus | undefined> {
    return this.jobs.statusOf(tx, jobId);
  }
  lockShared(tx: Transaction, jobId: string): Promise<{ status: JobStatus; languages: string[] } | undefined> {
    return this.jobs.lockShared(tx, jobId);
  }
  terminalAmong(jobIds: string[]): Promise<Set<string>> {
    return this.jobs.terminalAmong(jobIds);
  }

  /** The job becomes due at once (an OpenAI webhook reported its batch finished); polling stays the fallback. */
  wake(jobId: string): Promise<boolean> {
    return this.jobs.wake(jobId);
  }

  // Lots.
  lotCounts(jobId: string): Promise<LotCounts> {
    return this.lots.counts(jobId);
  }
  countWaiting(jobId: string, status: JobStatus): Promise<number> {
    return this.lots.countWaiting(jobId, status);
  }
  waitingLots(jobId: string, status: JobStatus, afterPosition: number, limit: number): Promise<WaitingLot[]> {
    return this.lots.waitingPage(jobId, status, afterPosition, limit);
  }
  uncheckedLots(jobId: string, limit: number): Promise<UncheckedLot[]> {
    return this.lots.unchecked(jobId, limit);
  }
  recordImageChecks(jobId: string, results: ImageCheckResult[]): Promise<void> {
    return this.lots.recordImageChecks(jobId, results);
  }
  /**
   * `reuse_results`: lots of the job waiting in `status` whose content matches a
   * completed lot of the client (within RESULT_REUSE_DAYS) take its result,
   * marked `reused_from` with the cost saved. Returns how many were reused.
   */
  async reuseResults(job: Pick<Job, 'id' | 'clientId'>, status: JobStatus): Promise<number> {
    const reused = await this.lots.reuseCompleted(job.id, job.clientId, status, this.config.jobs.resultReuseMs);
    if (reused.length === 0) return 0;
    const sources = [...new Set(reused.map((row) => row.source_row_id))];
    const saved = new Map<string, number>();
    for (const source of sources) {
      saved.set(source, usageAndCostView(await this.usage.forLot(source), this.config.openai.prices).cost.total_usd);
    }
    await this.lots.recordSavings(
      job.id,
      reused.map((row) => ({ id: row.id, saved_usd: saved.get(row.source_row_id) ?? 0 })),
    );
    return reused.length;
  }
  failWaitingLots(jobId: string, status: JobStatus): Promise<void> {
    return this.lots.failWaiting(jobId, status);
  }
  /** Applies results to the stage's lots and adds their usage to the job, in the caller's transaction. */
  async recordLotResults(tx: Transaction, target: LotResultTarget, outcomes: LotOutcome[]): Promise<WriteSummary> {
    const summary = await this.lots.recordResults(tx, target, outcomes);
    if (target.billing) {
      // Every billed response of the job's lots is recorded, applied or not (a late duplicate was billed too);
      // the (lot, stage, call) key keeps a second reading of the same batch from adding anything.
      const model = target.stage === 'vision' ? this.config.openai.visionModel : this.config.openai.translationModel;
      const line = await this.usage.record(
        tx,
        target.jobId,
        target.stage,
        { ...target.billing, model },
        outcomes.filter((outcome) => isUuid(outcome.id)),
      );
      if (line) summary.billed.push(line);
    }
    return summary;
  }
  /** The job's cost so far (webhooks' `processing_summary.cost`); unpriced models are named in `batch-status`, not here. */
  async costOf(jobId: string, tx?: Transaction): Promise<CostView> {
    const lines = (await this.usage.totals([jobId], tx)).get(jobId) ?? [];
    const { cost } = usageAndCostView(lines, this.config.openai.prices);
    return { ...cost, unpriced_models: [] };
  }
  /** Counts newly recorded usage in the Prometheus counters: call once the recording transaction committed. */
  countBilled(lines: readonly UsageLine[]): void {
    this.usageMetrics.count(lines);
  }
  addUsage(tx: SqlRunner, jobId: string, usage: TokenUsage): Promise<void> {
    return this.jobs.addUsage(tx, jobId, usage);
  }

  // Webhooks.
  findJob(jobId: string, tx?: Transaction): Promise<Job | null> {
    return this.jobs.findById(jobId, tx);
  }
  jobBelongsTo(jobId: string, clientId: string): Promise<boolean> {
    return this.jobs.existsForClient(jobId, clientId);
  }
  webhookLotSizes(jobId: string, tx?: Transaction): Promise<WebhookLotSize[]> {
    return this.lots.webhookLotSizes(jobId, tx);
  }
  lotsForWebhook(jobId: string, webhookUrl: string, positions: { from: number; to: number } | null): Promise<LotResult[]> {
    return this.lots.forWebhook(jobId, webhookUrl, positions);
  }

  // Metrics.
  countJobsByStatus(): Promise<{ status: string; value: number }[]> {
    return this.jobs.countByStatus();
  }
  countUnfinishedLots(): Promise<{ status: string; value: number }[]> {
    return this.lots.countUnfinishedByStatus();
  }
  oldestActiveJobAgeSeconds(): Promise<number> {
    return this.jobs.oldestActiveAgeSeconds();
  }
}
