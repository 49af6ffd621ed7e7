import { Logger } from '@nestjs/common';
import { addUsage } from '../common/token-usage.js';
import { outputBudget, retryOutputBudget, type ModelSettings } from './model-budget.js';
import type { OpenAiGateway } from './openai-gateway.service.js';
import type { BatchStageName, BudgetRetry, CallGuard, ParsedResult, ResponseCreateParamsNonStreaming } from './openai-gateway.types.js';

const logger = new Logger('BudgetRetry');

/**
 * The retry an answer cut at `max_output_tokens` earns (issue 16): the record
 * to keep (with the budget of the retry), or null when it earns none (another
 * failure, another reason, or a budget already at the model's limit).
 * Shared by vision and translation, for batch lines and direct calls alike.
 */
export function budgetRetryFor(
  result: ParsedResult,
  args: { stage: BatchStageName; via: BudgetRetry['via']; model?: string; maxOutputTokens?: number },
  settings: ModelSettings,
): BudgetRetry | null {
  if (result.ok || result.kind !== 'incomplete' || result.incomplete?.reason !== 'max_output_tokens') return null;
  const model = args.model ?? (args.stage === 'vision' ? settings.visionModel : settings.translationModel);
  // OpenAI echoes the request's max_output_tokens in the answer; the configured default otherwise.
  const spent = result.incomplete.maxOutputTokens ?? args.maxOutputTokens ?? outputBudget(model, settings);
  const next = retryOutputBudget(model, spent);
  if (next === null) return null;
  return {
    stage: args.stage,
    via: args.via,
    reason: 'max_output_tokens',
    max_output_tokens: spent,
    retry_max_output_tokens: next,
    usage: result.usage,
    at: new Date().toISOString(),
  };
}

/**
 * One direct call through the gateway and, when its answer was cut at
 * `max_output_tokens`, one more with the larger budget; usage counts both.
 * Reasoning tokens count against max_output_tokens, so a cut answer is a
 * budget problem, not the model's final word.
 */
export async function respondWithBudgetRetry(
  gateway: Pick<OpenAiGateway, 'respond'>,
  body: ResponseCreateParamsNonStreaming,
  args: { stage: BatchStageName; settings: ModelSettings; guard?: CallGuard & { maxAttempts?: number } },
): Promise<ParsedResult> {
  const first = await gateway.respond(body, args.guard);
  const maxOutputTokens = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined;
  const retry = budgetRetryFor(first, { stage: args.stage, via: 'direct', model: body.model, maxOutputTokens }, args.settings);
  if (!retry) return first;
  logger.warn(`OpenAI answer cut at max_output_tokens=${retry.max_output_tokens}; retrying once with ${retry.retry_max_output_tokens}`);
  const second = await gateway.respond({ ...body, max_output_tokens: retry.retry_max_output_tokens }, args.guard);
  const usage = addUsage(first.usage, second.usage);
  if (second.ok) return { ...second, usage, budgetRetry: retry };
  const error =
    second.kind === 'incomplete'
      ? `${second.error.replace(/\.$/, '')} (also with max_output_tokens=${retry.retry_max_output_tokens}).`
      : second.error;
  return { ...second, error, usage, budgetRetry: retry };
}

/**
 * How a direct call treats an answer cut at max_output_tokens: by default it
 * retries once with a larger budget; a lot whose retry is already decided
 * (its batch answer was cut) is called once with that budget.
 */
export type DirectBudget = { retryBudget: number } | 'default';
