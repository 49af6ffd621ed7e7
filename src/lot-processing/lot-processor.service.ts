import { Injectable } from '@nestjs/common';
import { ImageCheckService } from '../image-check/image-check.service.js';
import type { BudgetRetry, Usage } from '../openai/openai-gateway.types.js';
import { isRetryableFailure } from '../openai/retryable-failure.js';
import { addUsage } from '../common/token-usage.js';
import { TranslationService, targetLanguages } from '../translation/translation.service.js';
import { visionError } from '../vision/vision-answer.parser.js';
import { VisionService } from '../vision/vision.service.js';

/** The lot as sync mode knows it. */
export interface DirectLotInput {
  /** Row id (`batch_lots.id`). */
  id: string;
  lotId: string;
  additionalInfo: string | null;
  images: { url: string }[];
}

export type DirectLotResult = (
  | {
      ok: true;
      /** English HTML. */
      visionResult: string;
      /** Every requested language but English → HTML; `{}` when only English was asked for. */
      translations: Record<string, string>;
      missingImages: string[];
      processedImages: number;
      usage: Usage;
    }
  | {
      ok: false;
      error: string;
      /** True when OpenAI itself failed (transport errors after all retries), not the lot: the caller may retry later. */
      upstreamFailure: boolean;
      missingImages: string[];
      processedImages: number;
      usage: Usage;
    }
) & {
  /** Answers cut at max_output_tokens and retried with a larger budget (stored on the lot). */
  budgetRetries: BudgetRetry[];
  /** What each stage's direct call billed (recorded per stage in `openai_usage`). */
  stageUsage: { stage: 'vision' | 'translation'; usage: Usage }[];
};

/**
 * One lot processed with direct Responses calls, end to end: image check,
 * vision, translation — synchronous mode. The batch pipeline composes the
 * same pieces (ImageCheckService, VisionService, TranslationService) itself.
 */
@Injectable()
export class LotProcessorService {
  constructor(
    private readonly images: ImageCheckService,
    private readonly vision: VisionService,
    private readonly translation: TranslationService,
  ) {}

  async processDirect(lot: DirectLotInput, languages: string[], signal: AbortSignal): Promise<DirectLotResult> {
    const probes = await this.images.probeAll(
      lot.images.map((image) => image.url),
      signal,
    );
    const images = ImageCheckService.split(lot.images, probes);
    const base = {
      missingImages: images.missing,
      processedImages: images.usable.length,
      budgetRetries: [] as BudgetRetry[],
      stageUsage: [] as DirectLotResult['stageUsage'],
    };
    if (images.usable.length === 0) {
      return { ok: false, error: ImageCheckService.noUsableImageError(images), upstreamFailure: false, ...base, usage: addUsage() };
    }

    const vision = await this.vision.describe(lot, images.usable, { signal });
    if (vision.budgetRetry) base.budgetRetries.push(vision.budgetRetry);
    base.stageUsage.push({ stage: 'vision', usage: vision.usage });
    if (!vision.ok) {
      return { ok: false, error: visionError(vision), upstreamFailure: isRetryableFailure(vision), ...base, usage: addUsage(vision.usage) };
    }

    const targets = targetLanguages(languages);
    if (targets.length === 0) return { ok: true, visionResult: vision.text, translations: {}, ...base, usage: addUsage(vision.usage) };
    const translation = await this.translation.translate(vision.text, targets, { signal });
    if (translation.budgetRetry) base.budgetRetries.push(translation.budgetRetry);
    base.stageUsage.push({ stage: 'translation', usage: translation.usage });
    const usage = addUsage(vision.usage, translation.usage);
    if (!translation.ok) return { ok: false, error: translation.error, upstreamFailure: translation.retryable, ...base, usage };
    return { ok: true, visionResult: vision.text, translations: translation.translations, ...base, usage };
  }
}
