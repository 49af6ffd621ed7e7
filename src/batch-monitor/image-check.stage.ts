import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { ImageProbe } from '../common/http/safe-request.js';
import { AppConfig } from '../config/app-config.js';
import { JobPipelineService, type UncheckedLot } from '../jobs/job-pipeline.service.js';
import { JobStatus } from '../jobs/job.types.js';
import { ImageCheckService } from '../image-check/image-check.service.js';
import { targetLanguages } from '../translation/translation.service.js';
import { JobFinisherService } from './job-finisher.service.js';
import type { ClaimedJob } from './claim-keeper.service.js';
import { PipelineStage, VISION } from './pipeline-stage.js';
import { continueAfter, finishJob, type StageOutcome } from './stage-outcome.js';

/** Lots checked per round trip to the database. */
const LOTS_PER_CHUNK = 2000;
/** A claim checks images for at most this long, then lets the tick move on (the rest is resumed next time). */
const TIME_BUDGET_MS = 20_000;

/**
 * Step 1: the image URLs of every lot are checked before anything goes to
 * OpenAI. Resumable: a lot still `pending` has not been checked, so a crash
 * mid-check costs at most one chunk. Distinct URLs are fetched once per claim.
 */
@Injectable()
export class ImageCheckStage {
  private readonly logger = new Logger('Pipeline');

  constructor(
    private readonly jobs: JobPipelineService,
    private readonly images: ImageCheckService,
    private readonly finisher: JobFinisherService,
    private readonly config: AppConfig,
  ) {}

  async handle(claim: ClaimedJob): Promise<StageOutcome> {
    const job = claim.job;
    const started = Date.now();
    const known = new Map<string, ImageProbe>();
    for (;;) {
      const lots = await this.jobs.uncheckedLots(job.id, LOTS_PER_CHUNK);
      if (lots.length === 0) break;
      const unknown = lots.flatMap((lot) => lot.images.map((image) => image.url)).filter((url) => !known.has(url));
      for (const [url, probe] of await this.images.probeAll(unknown, claim.signal)) known.set(url, probe);
      await this.record(job, lots, known);
      if (claim.stopping.aborted || Date.now() - started > TIME_BUDGET_MS) {
        return continueAfter(0, { currentStage: PipelineStage.ImageCheck, startedAt: job.startedAt ?? new Date(started) });
      }
    }

    if (job.reuseResults) {
      const reused = await this.jobs.reuseResults(job, VISION.lotStatus);
      if (reused > 0) this.logger.log(`${reused} lot(s) reused a completed lot's result (reuse_results): no OpenAI call for them`);
    }
    const counts = await this.finisher.lotCounts(job.id);
    this.logger.log(`images checked (${counts[JobStatus.Failed] ?? 0} lot(s) without a usable image)`);
    if ((counts[VISION.lotStatus] ?? 0) === 0) return finishJob();
    const outcome = this.finisher.enter(claim, VISION, this.config.pipeline.visionDeadlineMs, counts);
    if (outcome.kind === 'continue') outcome.patch.startedAt = job.startedAt ?? new Date(started);
    return outcome;
  }

  private async record(job: ClaimedJob['job'], lots: UncheckedLot[], probes: Map<string, ImageProbe>): Promise<void> {
    const rows = lots.map((lot) => {
      const images = ImageCheckService.split(lot.images, probes);
      const usable = images.usable.length > 0;
      return {
        id: lot.id,
        status: usable ? VISION.lotStatus : JobStatus.Failed,
        missing: images.missing,
        processed: images.usable.length,
        error: usable ? null : ImageCheckService.noUsableImageError(images),
        contentKey: usable ? this.contentKey(job.languages, lot.additional_info, images.usable, probes) : null,
      };
    });
    await this.jobs.recordImageChecks(job.id, rows);
  }

  /**
   * What a lot's result depends on, hashed: the bytes of its usable images (in
   * order), its notes, its languages and the models and image detail that
   * would run — two lots with the same key get the same requests.
   */
  private contentKey(languages: string[], additionalInfo: string | null, usable: string[], probes: Map<string, ImageProbe>): string {
    const settings = this.config.openai;
    const targets = targetLanguages(languages);
    const key = {
      images: usable.map((url) => {
        const probe = probes.get(url);
        return probe?.ok ? probe.sha256 : url;
      }),
      info: additionalInfo?.trim() ?? '',
      languages: [...languages].sort(),
      vision: settings.visionModel,
      detail: settings.imageDetail,
      translation: targets.length > 0 ? settings.translationModel : null,
    };
    return createHash('sha256').update(JSON.stringify(key)).digest('hex');
  }
}
