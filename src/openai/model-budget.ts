import type { AppConfig } from '../config/app-config.js';
import type { Reasoning } from 'openai/resources/shared';

/**
 * What OpenAI's models accept, shared by the vision and translation request
 * builders and by the budget retry: which models reason, their output limits
 * and the `max_output_tokens` each gets (issue 16). No prompts here.
 */

/** The model parameters a request builder needs: a slice of `config.openai`. */
export type ModelSettings = Pick<
  AppConfig['openai'],
  'visionModel' | 'translationModel' | 'maxOutputTokens' | 'reasoningMaxOutputTokens' | 'imageDetail' | 'temperature' | 'reasoningEffort'
>;

/** Per-request overrides: the larger budget of a lot's retry after an answer cut at `max_output_tokens`. */
export interface RequestOverrides {
  maxOutputTokens?: number;
}

/**
 * Reasoning models (o1, o3, o4-mini, gpt-5*) reject `temperature`/`top_p` with
 * a 400 and take `reasoning.effort` instead; other models reject `reasoning`.
 * SPEC §6: send each model only what it accepts.
 */
export function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/i.test(model.trim());
}

/**
 * The largest `max_output_tokens` a model accepts (its output limit, from
 * OpenAI's model pages); null when unknown. A budget retry never asks for more.
 */
export function modelOutputLimit(model: string): number | null {
  const name = model.trim().toLowerCase();
  if (/^gpt-5/.test(name)) return 128_000;
  if (/^o\d/.test(name)) return 100_000;
  if (/^gpt-4\.1/.test(name)) return 32_768;
  if (/^(gpt-4o|chatgpt-4o)/.test(name)) return 16_384;
  return null;
}

/**
 * The budget of the one retry after an answer was cut at `max_output_tokens`:
 * twice the first, capped at the model's output limit; null when it cannot
 * grow (already at the limit).
 */
export function retryOutputBudget(model: string, current: number): number | null {
  const limit = modelOutputLimit(model);
  const next = limit === null ? current * 2 : Math.min(current * 2, limit);
  return next > current ? next : null;
}

/** The default `max_output_tokens` for one answer of `model`. */
export function outputBudget(model: string, settings: ModelSettings): number {
  const budget = isReasoningModel(model) ? Math.max(settings.reasoningMaxOutputTokens, settings.maxOutputTokens) : settings.maxOutputTokens;
  return capAtModelLimit(model, budget);
}

export function capAtModelLimit(model: string, tokens: number): number {
  const limit = modelOutputLimit(model);
  return limit === null ? tokens : Math.min(tokens, limit);
}

/** `reasoning.effort` for reasoning models, `temperature` for the others: never both. */
export function samplingFor(model: string, settings: ModelSettings): { reasoning: Reasoning } | { temperature: number } {
  return isReasoningModel(model) ? { reasoning: { effort: settings.reasoningEffort } } : { temperature: settings.temperature };
}
