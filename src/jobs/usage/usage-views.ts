import { costOf, roundUsd, type PriceTable } from '../../config/price-table.js';
import type { UsageLine } from './usage.types.js';

/** Token counters as shown to clients. */
export interface TokensView {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
}

/** One stage × mode × model of a job's usage, with its cost. */
export interface UsageEntryView extends TokensView {
  stage: UsageLine['stage'];
  mode: UsageLine['mode'];
  model: string;
  requests: number;
  cost_usd: number | null;
}

export interface UsageView extends TokensView {
  by_stage: UsageEntryView[];
}

export interface CostView {
  total_usd: number;
  currency: 'USD';
  /** The price table's date: the day its prices were read. */
  prices_as_of: string;
  /** Models used without a price in the table (their tokens are not in `total`). */
  unpriced_models: string[];
}

function tokens(line: Pick<UsageLine, 'input_tokens' | 'cached_tokens' | 'output_tokens' | 'reasoning_tokens'>): TokensView {
  return {
    input_tokens: line.input_tokens,
    cached_input_tokens: line.cached_tokens,
    output_tokens: line.output_tokens,
    reasoning_tokens: line.reasoning_tokens,
  };
}

/** A job's `usage` and `cost` (both computed from the recorded lines and the configured price table). */
export function usageAndCostView(lines: readonly UsageLine[], prices: PriceTable): { usage: UsageView; cost: CostView } {
  const sum = { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0 };
  let total = 0;
  const unpriced = new Set<string>();
  const byStage = lines.map((line): UsageEntryView => {
    for (const key of ['input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens'] as const) sum[key] += line[key];
    const cost = costOf(prices, line.model, line.mode, line);
    if (cost === null) unpriced.add(line.model);
    else total += cost;
    return {
      stage: line.stage,
      mode: line.mode,
      model: line.model,
      requests: line.calls,
      ...tokens(line),
      cost_usd: cost === null ? null : roundUsd(cost),
    };
  });
  return {
    usage: { ...tokens(sum), by_stage: byStage },
    cost: { total_usd: roundUsd(total), currency: 'USD', prices_as_of: prices.date, unpriced_models: [...unpriced] },
  };
}
