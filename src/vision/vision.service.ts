import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { budgetRetryFor, respondWithBudgetRetry, type DirectBudget } from '../openai/budget-retry.js';
import type { ModelSettings, RequestOverrides } from '../openai/model-budget.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BudgetRetry, CallGuard, GatewayRequest, ParsedResult } from '../openai/openai-gateway.types.js';
import { readVision } from './vision-answer.parser.js';
import { buildVisionRequest } from './vision-request.builder.js';

/** The lot as the vision step knows it. */
export interface VisionLot {
  /** Row id (`batch_lots.id`): the batch line's custom_id. */
  id: string;
  lotId: string;
  additionalInfo: string | null;
}

/**
 * The damage description of a lot whose images were checked: its request
 * (as a batch line or a direct call) and the reading of its answer.
 */
@Injectable()
export class VisionService {
  private readonly settings: ModelSettings;

  constructor(
    private readonly gateway: OpenAiGateway,
    config: AppConfig,
  ) {
    this.settings = config.openai;
  }

  /** The vision batch line of a lot (`custom_id` = the lot's row id). */
  request(lot: VisionLot, imageUrls: string[], overrides?: RequestOverrides): GatewayRequest {
    return {
      customId: lot.id,
      body: buildVisionRequest(this.settings, { lotId: lot.lotId, additionalInfo: lot.additionalInfo, imageUrls }, overrides),
    };
  }

  /**
   * The direct vision call. An answer cut at max_output_tokens is retried
   * once with a larger budget, unless the lot's retry budget is already
   * decided (`budget`), then that is used once. The call is fenced and
   * aborted by `guard`; the description comes back sanitised (readVision).
   */
  async describe(lot: VisionLot, imageUrls: string[], guard: CallGuard = {}, budget: DirectBudget = 'default'): Promise<ParsedResult> {
    if (budget !== 'default') {
      const { body } = this.request(lot, imageUrls, { maxOutputTokens: budget.retryBudget });
      return readVision(await this.gateway.respond(body, guard));
    }
    const { body } = this.request(lot, imageUrls);
    return readVision(await respondWithBudgetRetry(this.gateway, body, { stage: 'vision', settings: this.settings, guard }));
  }

  /** A vision result read from a batch output file → the lot's description, or its error. */
  read(result: ParsedResult): ParsedResult {
    return readVision(result);
  }

  /** The direct retry a batch answer cut at max_output_tokens earns (null: none). */
  budgetRetryFor(result: ParsedResult): BudgetRetry | null {
    return budgetRetryFor(result, { stage: 'vision', via: 'batch' }, this.settings);
  }
}
