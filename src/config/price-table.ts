/**
 * What OpenAI charges per model, in USD per million tokens, and the cost of
 * recorded usage. Pure: the table comes from configuration (`OPENAI_PRICES`)
 * or the defaults below.
 */

/** USD per 1M tokens at the standard (synchronous) tier. */
export interface ModelPrice {
  input: number;
  cached_input: number;
  output: number;
}

export interface PriceTable {
  /** The date the prices were read (ISO day), shown next to every cost. */
  date: string;
  /** Where they come from. */
  source: string;
  /** Fraction of the standard price the Batch API charges (0.5: OpenAI's 50 % discount). */
  batch_factor: number;
  models: Record<string, ModelPrice>;
}

/**
 * Defaults for the default models (`OPENAI_MODEL_VISION=o4-mini`,
 * `OPENAI_MODEL_TRANSLATION=gpt-4.1-mini`) and a few neighbours. Read on
 * 2026-07-02 from public copies of OpenAI's pricing page (openai.com/api/pricing):
 * o4-mini $1.10 / $0.275 cached / $4.40, Batch $0.55 / $2.20 (yingtu.ai, "as of July 2, 2026");
 * gpt-4.1-mini $0.40 / $0.10 / $1.60 (tokenmath.io, checked 2026-06-21; deploybase.ai, March 2026);
 * gpt-4o-mini $0.15 / $0.075 / $0.60. Reasoning tokens are billed as output tokens.
 * OpenAI changes prices: operators must check them against openai.com/api/pricing and set `OPENAI_PRICES`.
 */
export const DEFAULT_PRICE_TABLE: PriceTable = {
  date: '2026-07-02',
  source: 'defaults of the service (public copies of openai.com/api/pricing); check and override with OPENAI_PRICES',
  batch_factor: 0.5,
  models: {
    'o4-mini': { input: 1.1, cached_input: 0.275, output: 4.4 },
    'gpt-4.1-mini': { input: 0.4, cached_input: 0.1, output: 1.6 },
    'gpt-4.1': { input: 2, cached_input: 0.5, output: 8 },
    'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 },
    'gpt-4o': { input: 2.5, cached_input: 1.25, output: 10 },
  },
};

/** Token counts as recorded per OpenAI response (cached ⊂ input, reasoning ⊂ output). */
export interface BilledTokens {
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
}

/** A model's price: exact name, else the name without a snapshot date suffix (`o4-mini-2025-04-16` → `o4-mini`). */
export function priceOf(table: PriceTable, model: string): ModelPrice | null {
  return table.models[model] ?? table.models[model.replace(/-\d{4}-\d{2}-\d{2}$/, '')] ?? null;
}

/** USD for tokens of one model and mode; null when the model has no price. */
export function costOf(table: PriceTable, model: string, mode: 'batch' | 'direct', tokens: BilledTokens): number | null {
  const price = priceOf(table, model);
  if (!price) return null;
  const cached = Math.min(tokens.cached_tokens, tokens.input_tokens);
  const micro = (tokens.input_tokens - cached) * price.input + cached * price.cached_input + tokens.output_tokens * price.output;
  return (micro / 1_000_000) * (mode === 'batch' ? table.batch_factor : 1);
}

/** Rounds USD for display (8 decimals: a lot costs fractions of a cent). */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

/**
 * Parses `OPENAI_PRICES`: `{"date": "2026-07-02", "batch_factor": 0.5, "models": {"o4-mini": {"input": 1.1, "cached_input": 0.275, "output": 4.4}}}`
 * Models given replace the defaults of the same name; the others stay. `date` is required: a price without its day misleads.
 */
export function parsePriceTable(json: string | undefined): PriceTable {
  if (!json || json.trim() === '') return DEFAULT_PRICE_TABLE;
  const raw = JSON.parse(json) as unknown;
  if (!isRecord(raw)) throw new Error('OPENAI_PRICES must be a JSON object');
  if (!isRecord(raw.models))
    throw new Error('OPENAI_PRICES needs "models": {"<model>": {"input", "cached_input", "output"}} in USD per 1M tokens');
  const modelsRaw = raw.models;
  const models: Record<string, ModelPrice> = { ...DEFAULT_PRICE_TABLE.models };
  for (const [name, value] of Object.entries(modelsRaw)) {
    if (!isRecord(value)) throw new Error(`OPENAI_PRICES: the price of ${name} must be an object`);
    const input = usd(value.input, `${name}.input`);
    models[name] = {
      input,
      cached_input: value.cached_input === undefined ? input : usd(value.cached_input, `${name}.cached_input`),
      output: usd(value.output, `${name}.output`),
    };
  }
  const batchFactor = raw.batch_factor === undefined ? DEFAULT_PRICE_TABLE.batch_factor : usd(raw.batch_factor, 'batch_factor');
  if (batchFactor > 1) throw new Error('OPENAI_PRICES: batch_factor is a fraction (0.5 for the 50 % discount)');
  const date = typeof raw.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw.date) ? raw.date : null;
  if (!date) throw new Error('OPENAI_PRICES needs "date" (YYYY-MM-DD): the day the prices were read');
  return { date, source: typeof raw.source === 'string' ? raw.source : 'OPENAI_PRICES', batch_factor: batchFactor, models };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function usd(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`OPENAI_PRICES: ${name} must be a number ≥ 0`);
  return value;
}
