import { Injectable } from '@nestjs/common';
import { costOf, roundUsd } from '../../config/price-table.js';
import { AppConfig } from '../../config/app-config.js';
import { OPENAI_BATCH_LIMITS } from '../../openai/batch-file.writer.js';
import type { ResponseCreateParamsNonStreaming } from '../../openai/openai-gateway.types.js';
import { buildTranslationRequest } from '../../translation/translation-request.builder.js';
import { targetLanguages } from '../../translation/translation.service.js';
import { buildVisionRequest } from '../../vision/vision-request.builder.js';
import type { GenerationRequest } from '../validation/generation-request.js';
import { Turns } from '../../common/turns.js';

/**
 * Tokens per `input_image` part by `detail` (OpenAI's vision pricing: `low` is a flat 85;
 * `high` is 85 + 170 per 512 px tile — 255 for one tile, 1,105 for a 2048×1536 photo).
 * `auto` may pick either, so its range spans both.
 */
const IMAGE_TOKENS = { low: { min: 85, max: 85 }, high: { min: 255, max: 1105 }, auto: { min: 85, max: 1105 } } as const;
/** OpenAI's rule of thumb: about 4 characters of English per token. */
const CHARS_PER_TOKEN = 4;
/** A batch line's envelope around its body (custom_id is a lot row UUID). */
const LINE_ENVELOPE_BYTES = '{"custom_id":"00000000-0000-0000-0000-000000000000","method":"POST","url":"/v1/responses","body":}\n'.length;

export interface Range {
  min: number;
  max: number;
}

export interface StageEstimate {
  stage: 'vision' | 'translation';
  model: string;
  mode: 'batch' | 'direct';
  /** Requests (batch lines, or direct calls in synchronous mode). */
  requests: number;
  /** OpenAI batches (input files) the stage needs: 50,000 lines or ~190 MB per batch. */
  batches: number;
  input_tokens: Range;
  output_tokens: Range;
  /** USD; 0–0 with `priced: false` when the model has no price in the table. */
  cost_usd: Range;
  priced: boolean;
}

export interface DryRunView {
  dry_run: true;
  processing_mode: 'synchronous' | 'batch';
  total_lots: number;
  total_images: number;
  languages: string[];
  stages: StageEstimate[];
  input_tokens: Range;
  output_tokens: Range;
  cost: { min: number; max: number; currency: 'USD'; prices_as_of: string; unpriced_models: string[] };
  assumptions: string[];
}

const textChars = (body: ResponseCreateParamsNonStreaming): number => {
  let chars = typeof body.instructions === 'string' ? body.instructions.length : 0;
  for (const message of Array.isArray(body.input) ? body.input : []) {
    const content = 'content' in message && Array.isArray(message.content) ? (message.content as unknown[]) : [];
    for (const part of content) {
      const text = (part as { type?: string; text?: unknown }).text;
      if (typeof text === 'string') chars += text.length;
    }
  }
  // Structured output: the schema is part of the prompt.
  const format = body.text?.format;
  if (format && format.type === 'json_schema') chars += JSON.stringify(format.schema).length;
  return chars;
};

const tokensOf = (chars: number): number => Math.ceil(chars / CHARS_PER_TOKEN);

/**
 * `"dry_run": true`: what a request would send to OpenAI and cost, computed
 * from the same request builders the pipeline uses — nothing is stored and
 * nothing leaves the service. Ranges, not a promise: missing images, the
 * description's length and reasoning are only known once OpenAI answered.
 */
@Injectable()
export class DryRunEstimator {
  constructor(private readonly config: AppConfig) {}

  /** In turns (src/common/turns.ts): building 50,000 vision requests to measure them would hold the event loop ~0.3 s. */
  async estimate(request: GenerationRequest): Promise<DryRunView> {
    const turns = new Turns();
    const settings = this.config.openai;
    const prices = settings.prices;
    const mode = request.lots.length === 1 ? 'direct' : 'batch';
    const image = IMAGE_TOKENS[settings.imageDetail];

    const vision = { input: { min: 0, max: 0 }, output: { min: 0, max: 0 }, bytes: 0, maxOutput: 0 };
    let totalImages = 0;
    for (const lot of request.lots) {
      if (turns.due()) await turns.next();
      const body = buildVisionRequest(settings, {
        lotId: lot.lotId,
        additionalInfo: lot.additionalInfo,
        imageUrls: lot.images.map((i) => i.url),
      });
      const text = tokensOf(textChars(body));
      totalImages += lot.images.length;
      vision.input.min += text + image.min * lot.images.length;
      vision.input.max += text + image.max * lot.images.length;
      vision.output.max += body.max_output_tokens ?? 0;
      vision.maxOutput = Math.max(vision.maxOutput, body.max_output_tokens ?? 0);
      vision.bytes += Buffer.byteLength(JSON.stringify(body)) + LINE_ENVELOPE_BYTES;
    }
    const stages: StageEstimate[] = [
      this.stage('vision', settings.visionModel, mode, request.lots.length, vision.bytes, vision.input, vision.output),
    ];

    const targets = targetLanguages(request.languages);
    if (targets.length > 0) {
      const body = buildTranslationRequest(settings, { html: '', languages: targets });
      const fixed = tokensOf(textChars(body));
      const n = request.lots.length;
      // The document to translate is the English description: at most the vision answer's budget.
      const input = { min: n * fixed, max: n * (fixed + vision.maxOutput) };
      const bytes = n * (Buffer.byteLength(JSON.stringify(body)) + LINE_ENVELOPE_BYTES + vision.maxOutput * CHARS_PER_TOKEN);
      stages.push(
        this.stage('translation', settings.translationModel, mode, n, bytes, input, { min: 0, max: n * (body.max_output_tokens ?? 0) }),
      );
    }

    const unpriced = stages.filter((stage) => !stage.priced).map((stage) => stage.model);
    const sum = (pick: (stage: StageEstimate) => Range): Range =>
      stages.reduce((acc, stage) => ({ min: acc.min + pick(stage).min, max: acc.max + pick(stage).max }), {
        min: 0,
        max: 0,
      });
    const cost = sum((stage) => stage.cost_usd);
    return {
      dry_run: true,
      processing_mode: mode === 'direct' ? 'synchronous' : 'batch',
      total_lots: request.lots.length,
      total_images: totalImages,
      languages: request.languages,
      stages,
      input_tokens: sum((stage) => stage.input_tokens),
      output_tokens: sum((stage) => stage.output_tokens),
      cost: {
        min: roundUsd(cost.min),
        max: roundUsd(cost.max),
        currency: 'USD',
        prices_as_of: prices.date,
        unpriced_models: [...new Set(unpriced)],
      },
      assumptions: [
        `text: ${CHARS_PER_TOKEN} characters per token; images at detail "${settings.imageDetail}": ${image.min}–${image.max} tokens each, all images reachable`,
        'output: from 0 up to each request’s max_output_tokens (reasoning included); translation input up to the vision budget',
        `prices of ${prices.date}; no prompt-cache discount assumed; ${mode === 'batch' ? `Batch API factor ${prices.batch_factor}` : 'direct calls at the full price'}`,
      ],
    };
  }

  private stage(
    stage: StageEstimate['stage'],
    model: string,
    mode: StageEstimate['mode'],
    requests: number,
    bytes: number,
    input: Range,
    output: Range,
  ): StageEstimate {
    const prices = this.config.openai.prices;
    const at = (inputTokens: number, outputTokens: number) =>
      costOf(prices, model, mode, { input_tokens: inputTokens, cached_tokens: 0, output_tokens: outputTokens, reasoning_tokens: 0 });
    const min = at(input.min, output.min);
    const max = at(input.max, output.max);
    const batches =
      mode === 'direct'
        ? 0
        : Math.max(Math.ceil(requests / OPENAI_BATCH_LIMITS.maxRequests), Math.ceil(bytes / OPENAI_BATCH_LIMITS.maxBytes));
    return {
      stage,
      model,
      mode,
      requests,
      batches,
      input_tokens: input,
      output_tokens: output,
      cost_usd: { min: roundUsd(min ?? 0), max: roundUsd(max ?? 0) },
      priced: min !== null && max !== null,
    };
  }
}
