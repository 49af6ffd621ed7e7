import { newId, nowSeconds, stableHash } from './ids.js';
import type { ParsedResponsesRequest, TextFormat } from './responses-request.js';
import type { Trigger } from './text-generator.js';

/** Wire shapes of the Responses API (openai SDK `Response` and its output items). */
export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}
export interface OutputRefusal {
  type: 'refusal';
  refusal: string;
}
export interface MessageItem {
  id: string;
  type: 'message';
  role: 'assistant';
  status: 'completed' | 'incomplete';
  content: (OutputText | OutputRefusal)[];
}
export interface ReasoningItem {
  id: string;
  type: 'reasoning';
  summary: { type: 'summary_text'; text: string }[];
}
export type OutputItem = MessageItem | ReasoningItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'completed' | 'incomplete';
  background: boolean;
  completed_at: number | null;
  error: null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  max_tool_calls: number | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  service_tier: 'default';
  store: boolean;
  temperature: number;
  text: { format: TextFormat; verbosity: 'medium' };
  tool_choice: 'auto';
  tools: never[];
  top_logprobs: number;
  top_p: number;
  truncation: 'disabled';
  usage: ResponseUsage;
  user: null;
  metadata: Record<string, string>;
}

/** Tokens a reasoning model spends thinking before it writes; a smaller `max_output_tokens` leaves only a reasoning item. */
export const REASONING_TOKENS = 64;
/**
 * `[emulator:deep-reasoning]`: a reasoning model thinks this long — more than
 * the service's default reasoning budget (25,000), less than twice it — so
 * the first answer is cut at `max_output_tokens` and the doubled retry fits.
 */
export const DEEP_REASONING_TOKENS = 30_000;
export const REFUSAL_TEXT = "I'm sorry, but I can't help with that request.";
const IMAGE_TOKENS = { low: 85, high: 765, auto: 765 } as const;

/**
 * Prompt caching stand-in, deterministic: OpenAI caches prompts of 1,024 tokens
 * or more in steps of 128 tokens; here half the prompt (rounded down to a step) counts as cached.
 */
export function cachedTokens(inputTokens: number): number {
  return inputTokens >= 1024 ? Math.floor(inputTokens / 2 / 128) * 128 : 0;
}

/** ~4 characters per token, like OpenAI's rule of thumb. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Wraps the generated text in a Response the way OpenAI shapes it, including
 * the irregularities a client must survive: reasoning models put a reasoning
 * item first usually, but for 1 input in 10 the message comes first and for
 * another 1 in 10 an extra reasoning item follows the message; 1 plain-text
 * answer in 5 is split over two `output_text` parts. All chosen by a hash of
 * the input, so the same request always has the same shape.
 */
export function buildResponse(req: ParsedResponsesRequest, text: string, triggers: Set<Trigger>): ResponseObject {
  const hash = stableHash([req.model, ...req.userTextParts, ...req.images.map((i) => i.url)].join('\n'));
  const reasoningTokens = req.reasoningModel ? (triggers.has('deep-reasoning') ? DEEP_REASONING_TOKENS : REASONING_TOKENS) : 0;
  const textTokens = Math.max(1, countTokens(text));
  const incomplete = triggers.has('incomplete') || (req.maxOutputTokens !== null && req.maxOutputTokens < reasoningTokens + textTokens);
  const reasoning = (): ReasoningItem => ({ id: newId('rs_'), type: 'reasoning', summary: [] });

  let output: OutputItem[];
  let outputTokens: number;
  if (incomplete) {
    const budget = req.maxOutputTokens ?? reasoningTokens + Math.floor(textTokens / 2);
    outputTokens = budget;
    // A reasoning model spends its budget thinking; other models stop mid-text.
    output = req.reasoningModel
      ? [reasoning()]
      : [message('incomplete', [outputText(text.slice(0, Math.max(0, budget - reasoningTokens) * 4))])];
  } else {
    outputTokens = reasoningTokens + textTokens;
    const splitText = triggers.has('split-text') || (req.textFormat.type === 'text' && (hash >>> 8) % 5 === 0);
    const content = triggers.has('refusal')
      ? [{ type: 'refusal' as const, refusal: REFUSAL_TEXT }]
      : triggers.has('empty')
        ? [outputText('')]
        : splitText
          ? splitIntoTwo(text).map(outputText)
          : [outputText(text)];
    const msg = message('completed', content);
    if (triggers.has('reasoning-only')) output = req.reasoningModel ? [reasoning()] : [];
    else if (!req.reasoningModel) output = [msg];
    else if (triggers.has('message-first') || (!triggers.has('extra-items') && hash % 10 === 0)) output = [msg, reasoning()];
    else if (triggers.has('extra-items') || hash % 10 === 1) output = [reasoning(), msg, reasoning()];
    else output = [reasoning(), msg];
  }

  const inputTokens = countTokens(req.allText) + req.images.reduce((sum, image) => sum + IMAGE_TOKENS[image.detail], 0);
  const createdAt = nowSeconds();
  return {
    id: newId('resp_'),
    object: 'response',
    created_at: createdAt,
    status: incomplete ? 'incomplete' : 'completed',
    background: false,
    completed_at: incomplete ? null : createdAt,
    error: null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: req.instructions,
    max_output_tokens: req.maxOutputTokens,
    max_tool_calls: null,
    model: req.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: req.reasoning,
    service_tier: 'default',
    store: req.store,
    temperature: req.temperature ?? 1,
    text: { format: req.textFormat, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_logprobs: 0,
    top_p: req.topP ?? 1,
    truncation: 'disabled',
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: cachedTokens(inputTokens) },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: Math.min(reasoningTokens, outputTokens) },
      total_tokens: inputTokens + outputTokens,
    },
    user: null,
    metadata: req.metadata,
  };
}

function message(status: MessageItem['status'], content: MessageItem['content']): MessageItem {
  return { id: newId('msg_'), type: 'message', role: 'assistant', status, content };
}

function outputText(text: string): OutputText {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** Split after the first paragraph when there are several, else in the middle. */
function splitIntoTwo(text: string): [string, string] {
  const boundary = text.indexOf('</p>');
  const at = boundary >= 0 && boundary + 4 < text.length ? boundary + 4 : Math.ceil(text.length / 2);
  return [text.slice(0, at), text.slice(at)];
}
