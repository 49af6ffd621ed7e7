import { Injectable } from '@nestjs/common';
import type { TokenUsage } from '../jobs/job.types.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BudgetRetry, GatewayRequest, ParsedResult } from '../openai/openai-gateway.types.js';
import type { CallGuard } from '../openai/openai-gateway.service.js';
import type { RequestOverrides } from '../openai/openai-request.builder.js';
import { TranslationService, targetLanguages, type DirectBudget } from '../translation/translation.service.js';
import { isRetryableFailure } from '../translation/retryable-failure.js';
import { sanitizeModelHtml } from '../common/html/model-html.js';
import { ImageCheckService } from './image-check.service.js';
import { addUsage } from '../jobs/token-usage.js';

/** The lot as sync mode and the fallbacks know it. */
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
    }
) & {
  /** Answers cut at max_output_tokens and retried with a larger budget (stored on the lot). */
  budgetRetries: BudgetRetry[];
};

export function visionError(result: Extract<ParsedResult, { ok: false }>): string {
  return `Vision analysis failed (${result.kind}): ${result.error}`;
}

/**
 * A vision answer as a lot may keep it: the HTML reduced to the harmless
 * allow-list (src/common/html/model-html.ts). With translations read by
 * TranslationService.read, this is the only way model text becomes lot
 * content — direct calls (sync mode, fallbacks) through `describe`, batch
 * output through the ingestion. An answer with nothing harmless left is empty.
 */
export function readVision(result: ParsedResult): ParsedResult {
  if (!result.ok) return result;
  const text = sanitizeModelHtml(result.text);
  if (text === '') {
    return {
      ok: false,
      kind: 'empty_text',
      error: 'The response has no text left once unsafe markup is removed.',
      usage: result.usage,
      retryable: false,
      ...(result.budgetRetry ? { budgetRetry: result.budgetRetry } : {}),
    };
  }
  return { ...result, text };
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
    const probes = await this.images.probeAll(
      lot.images.map((image) => image.url),
      signal,
    );
    const images = ImageCheckService.split(lot.images, probes);
    const base = { missingImages: images.missing, processedImages: images.usable.length, budgetRetries: [] as BudgetRetry[] };
    if (images.usable.length === 0) {
      return { ok: false, error: ImageCheckService.noUsableImageError(images), upstreamFailure: false, ...base, usage: addUsage() };
    }

    const vision = await this.describe(lot, images.usable, { signal });
    if (vision.budgetRetry) base.budgetRetries.push(vision.budgetRetry);
    if (!vision.ok) {
      return { ok: false, error: visionError(vision), upstreamFailure: isRetryableFailure(vision), ...base, usage: addUsage(vision.usage) };
    }

    const targets = targetLanguages(languages);
    if (targets.length === 0) return { ok: true, visionResult: vision.text, translations: {}, ...base, usage: addUsage(vision.usage) };
    const translation = await this.translation.translate(vision.text, targets, { signal });
    if (translation.budgetRetry) base.budgetRetries.push(translation.budgetRetry);
    const usage = addUsage(vision.usage, translation.usage);
    if (!translation.ok) return { ok: false, error: translation.error, upstreamFailure: translation.retryable, ...base, usage };
    return { ok: true, visionResult: vision.text, translations: translation.translations, ...base, usage };
  }

  /** The vision batch line of a lot whose images were checked (`custom_id` = the lot's row id). */
  visionRequest(
    lot: Pick<DirectLotInput, 'id' | 'lotId' | 'additionalInfo'>,
    imageUrls: string[],
    overrides?: RequestOverrides,
  ): GatewayRequest {
    return {
      customId: lot.id,
      body: this.gateway.visionRequest({ lotId: lot.lotId, additionalInfo: lot.additionalInfo, imageUrls }, overrides),
    };
  }

  /**
   * The direct vision call of a lot whose images were checked. An answer cut
   * at max_output_tokens is retried once with a larger budget, unless the
   * lot's retry budget is already decided (`budget`), then that is used once.
   * The call is fenced and aborted by `guard`; the description comes back sanitised (readVision).
   */
  async describe(
    lot: Pick<DirectLotInput, 'id' | 'lotId' | 'additionalInfo'>,
    imageUrls: string[],
    guard: CallGuard = {},
    budget: DirectBudget = 'default',
  ): Promise<ParsedResult> {
    const overrides = budget === 'default' ? undefined : { maxOutputTokens: budget.retryBudget };
    const result = await this.gateway.respond(this.visionRequest(lot, imageUrls, overrides).body, {
      ...guard,
      ...(budget === 'default' ? { budgetRetryStage: 'vision' as const } : {}),
    });
    return readVision(result);
  }
}
