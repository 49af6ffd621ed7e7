import { ApiError, invalidRequest } from './api-error.js';

/** What the Responses logic needs from a `POST /v1/responses` body, validated. */
export interface ParsedResponsesRequest {
  model: string;
  reasoningModel: boolean;
  instructions: string | null;
  /** Text of the user messages' text parts (string inputs included), in order. */
  userTextParts: string[];
  /** Every text the model "reads" (system, developer, assistant too) — for token counts. */
  allText: string;
  images: ImageRef[];
  maxOutputTokens: number | null;
  temperature: number | null;
  topP: number | null;
  textFormat: TextFormat;
  reasoning: { effort: string | null; summary: string | null };
  metadata: Record<string, string>;
  store: boolean;
}

export interface ImageRef {
  url: string;
  detail: 'low' | 'high' | 'auto';
  /** Where the image sits in the request, e.g. `input[0].content[1].image_url`. */
  param: string;
}

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: unknown; strict?: boolean | null; description?: string };

/** `o1`, `o3`, `o4-mini`, `gpt-5*`: reasoning models, which reject sampling parameters. */
export function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model);
}

const CONTENT_TYPES = ['input_text', 'input_image', 'input_file', 'output_text', 'refusal'];

export function parseResponsesRequest(body: Record<string, unknown>): ParsedResponsesRequest {
  const model = body.model;
  if (typeof model !== 'string' || model === '')
    throw invalidRequest("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  const reasoningModel = isReasoningModel(model);
  for (const param of ['temperature', 'top_p'] as const) {
    if (reasoningModel && body[param] !== undefined && body[param] !== null) {
      throw invalidRequest(`Unsupported parameter: '${param}' is not supported with this model.`, param, 'unsupported_parameter');
    }
  }
  const reasoning = asObject(body.reasoning);
  if (!reasoningModel && reasoning?.effort !== undefined && reasoning.effort !== null) {
    throw invalidRequest(
      "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
      'reasoning.effort',
      'unsupported_parameter',
    );
  }
  const temperature = optionalNumber(body.temperature, 'temperature', 0, 2);
  const maxOutputTokens = optionalNumber(body.max_output_tokens, 'max_output_tokens', 16, Number.MAX_SAFE_INTEGER);
  if (maxOutputTokens !== null && !Number.isInteger(maxOutputTokens)) {
    throw invalidRequest("Invalid type for 'max_output_tokens': expected an integer.", 'max_output_tokens', 'invalid_type');
  }
  if (body.instructions !== undefined && body.instructions !== null && typeof body.instructions !== 'string') {
    throw invalidRequest("Invalid type for 'instructions': expected a string.", 'instructions', 'invalid_type');
  }
  // Chat Completions answers exactly this for the pair (the Responses API does not document it either
  // way); the emulator takes the strict reading so a client that sends it is caught. `store` defaults to true.
  const metadata = body.metadata;
  if (body.store === false && metadata !== undefined && metadata !== null && !(asObject(metadata) && Object.keys(metadata).length === 0)) {
    throw invalidRequest("The 'metadata' parameter is only allowed when 'store' is enabled.", 'metadata', 'invalid_value');
  }
  const instructions = body.instructions ?? null;
  const { userTextParts, otherText, images } = parseInput(body.input);

  return {
    model,
    reasoningModel,
    instructions,
    userTextParts,
    allText: [instructions ?? '', ...otherText, ...userTextParts].join('\n'),
    images,
    maxOutputTokens,
    temperature,
    topP: optionalNumber(body.top_p, 'top_p', 0, 1),
    textFormat: parseTextFormat(body.text),
    reasoning: {
      effort: reasoningModel ? (typeof reasoning?.effort === 'string' ? reasoning.effort : 'medium') : null,
      summary: typeof reasoning?.summary === 'string' ? reasoning.summary : null,
    },
    metadata: (asObject(body.metadata) as Record<string, string> | undefined) ?? {},
    store: body.store !== false,
  };
}

function parseInput(input: unknown): { userTextParts: string[]; otherText: string[]; images: ImageRef[] } {
  if (typeof input === 'string') return { userTextParts: [input], otherText: [], images: [] };
  if (!Array.isArray(input)) throw invalidRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  const userTextParts: string[] = [];
  const otherText: string[] = [];
  const images: ImageRef[] = [];
  input.forEach((rawItem, i) => {
    const item = asObject(rawItem);
    if (!item || typeof item.role !== 'string') {
      throw invalidRequest(`Invalid 'input[${i}]': expected a message with a 'role'.`, `input[${i}]`, 'invalid_value');
    }
    const texts = item.role === 'user' ? userTextParts : otherText;
    if (typeof item.content === 'string') {
      texts.push(item.content);
      return;
    }
    if (!Array.isArray(item.content))
      throw invalidRequest(`Missing required parameter: 'input[${i}].content'.`, `input[${i}].content`, 'missing_required_parameter');
    item.content.forEach((rawPart, j) => {
      const part = asObject(rawPart) ?? {};
      const where = `input[${i}].content[${j}]`;
      if (typeof part.type !== 'string' || !CONTENT_TYPES.includes(part.type)) {
        throw invalidRequest(
          `Invalid value: '${String(part.type)}'. Supported values are: ${CONTENT_TYPES.map((t) => `'${t}'`).join(', ')}.`,
          `${where}.type`,
          'invalid_value',
        );
      }
      if (part.type === 'input_image') {
        if (typeof part.image_url !== 'string') {
          throw invalidRequest(`Missing required parameter: '${where}.image_url'.`, `${where}.image_url`, 'missing_required_parameter');
        }
        const detail = part.detail === 'low' || part.detail === 'high' ? part.detail : 'auto';
        images.push({ url: part.image_url, detail, param: `${where}.image_url` });
      } else if (typeof part.text === 'string') {
        texts.push(part.text);
      }
    });
  });
  return { userTextParts, otherText, images };
}

function parseTextFormat(text: unknown): TextFormat {
  const format = asObject(asObject(text)?.format);
  if (!format || format.type === 'text' || format.type === undefined) return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type !== 'json_schema') {
    throw invalidRequest(
      `Invalid value: '${typeof format.type === 'string' ? format.type : JSON.stringify(format.type)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`,
      'text.format.type',
      'invalid_value',
    );
  }
  if (typeof format.name !== 'string')
    throw invalidRequest("Missing required parameter: 'text.format.name'.", 'text.format.name', 'missing_required_parameter');
  if (!asObject(format.schema))
    throw invalidRequest("Missing required parameter: 'text.format.schema'.", 'text.format.schema', 'missing_required_parameter');
  return {
    type: 'json_schema',
    name: format.name,
    schema: format.schema,
    strict: typeof format.strict === 'boolean' ? format.strict : null,
    ...(typeof format.description === 'string' ? { description: format.description } : {}),
  };
}

function optionalNumber(value: unknown, param: string, min: number, max: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || Number.isNaN(value))
    throw invalidRequest(`Invalid type for '${param}': expected a number.`, param, 'invalid_type');
  if (value < min) {
    throw new ApiError(
      400,
      `Invalid '${param}': number below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      'invalid_request_error',
      param,
      'integer_below_min_value',
    );
  }
  if (value > max) {
    throw new ApiError(
      400,
      `Invalid '${param}': number above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      'invalid_request_error',
      param,
      'decimal_above_max_value',
    );
  }
  return value;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
