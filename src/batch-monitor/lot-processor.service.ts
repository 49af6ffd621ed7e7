import { Injectable } from '@nestjs/common';
import type { TokenUsage } from '../jobs/entities/batch-job.entity.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { GatewayRequest, ParsedResult } from '../openai/openai-gateway.types.js';
import type { CallGuard } from '../openai/openai-gateway.service.js';
import { TranslationService, targetLanguages } from '../translation/translation.service.js';
import { isRetryableFailure } from '../translation/retryable-failure.js';
import { ImageCheckService } from './image-check.service.js';
import { addUsage } from './usage.js';

/** The lot as sync mode and the fallbacks know it. */
export interface DirectLotInput {
  /** Row id (`batch_lots.id`). */
  id: string;
  lotId: string;
  additionalInfo: string | null;
  images: { url: string }[];
}

export type DirectLotResult =
  | {
      ok: true;
      /** English HTML. */
      visionResult: string;
      /** Every requested language but English → HTML; `{}` when only English was asked for. */
      translations: Record<string, string>;
      missingImages: string[];
      processedImages: number;
      usage: TokenUsage;
    }
  | {
      ok: false;
      error: string;
      /** True when OpenAI itself failed (transport errors after all retries), not the lot: the caller may retry later. */
      upstreamFailure: boolean;
      missingImages: string[];
      processedImages: number;
      usage: TokenUsage;
    };

export function visionError(result: Extract<ParsedResult, { ok: false }>): string {
  return `Vision analysis failed (${result.kind}): ${result.error}`;
}

/**
 * One lot processed with direct Responses calls, end to end: image check,
 * vision, translation. Sync mode uses `processDirect`; the batch pipeline uses
 * the pieces (its batch lines and its fallbacks when a batch cannot finish).
 */
@Injectable()
export class LotProcessorService {
  constructor(
    private readonly gateway: OpenAiGateway,
    private readonly images: ImageCheckService,
    private readonly translation: TranslationService,
  ) {}

  async processDirect(lot: DirectLotInput, languages: string[], signal: AbortSignal): Promise<DirectLotResult> {
    const probes = await this.images.probeAll(lot.images.map((image) => image.url), signal);
    const images = ImageCheckService.split(lot.images, probes);
    const base = { missingImages: images.missing, processedImages: images.usable.length };
    if (images.usable.length === 0) {
      return { ok: false, error: ImageCheckService.noUsableImageError(images), upstreamFailure: false, ...base, usage: addUsage() };
    }

    const vision = await this.describe(lot, images.usable, { signal });
    if (!vision.ok) {
      return { ok: false, error: visionError(vision), upstreamFailure: isRetryableFailure(vision), ...base, usage: addUsage(vision.usage) };
    }

    const targets = targetLanguages(languages);
    if (targets.length === 0) return { ok: true, visionResult: vision.text, translations: {}, ...base, usage: addUsage(vision.usage) };
    const translation = await this.translation.translate(vision.text, targets, { signal });
    const usage = addUsage(vision.usage, translation.usage);
    if (!translation.ok) return { ok: false, error: translation.error, upstreamFailure: translation.retryable, ...base, usage };
    return { ok: true, visionResult: vision.text, translations: translation.translations, ...base, usage };
  }

  /** The vision batch line of a lot whose images were checked (`custom_id` = the lot's row id). */
  visionRequest(lot: Pick<DirectLotInput, 'id' | 'lotId' | 'additionalInfo'>, imageUrls: string[]): GatewayRequest {
    return { customId: lot.id, body: this.gateway.visionRequest({ lotId: lot.lotId, additionalInfo: lot.additionalInfo, imageUrls }) };
  }

  /** The direct vision call of a lot whose images were checked. */
  describe(lot: Pick<DirectLotInput, 'id' | 'lotId' | 'additionalInfo'>, imageUrls: string[], guard: CallGuard = {}): Promise<ParsedResult> {
    return this.gateway.respond(this.visionRequest(lot, imageUrls).body, guard);
  }
}
