import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.module.js';
import { costOf } from '../../config/price-table.js';
import { AppConfig } from '../../config/app-config.js';
import type { UsageLine } from './usage.types.js';

/**
 * `gs_openai_tokens_total{model,stage,mode,kind}` and
 * `gs_openai_cost_usd_total{model,stage,mode}`: incremented with what
 * `OpenAiUsageRepository.record` newly inserted, after its transaction
 * committed — so each billed response counts once, whatever re-reads happen.
 */
@Injectable()
export class UsageMetrics {
  private readonly tokens: Counter<'model' | 'stage' | 'mode' | 'kind'>;
  private readonly cost: Counter<'model' | 'stage' | 'mode'>;

  constructor(
    registry: MetricsRegistry,
    private readonly config: AppConfig,
  ) {
    this.tokens = new Counter({
      name: 'gs_openai_tokens_total',
      help: 'OpenAI tokens billed, by model, stage, mode (batch/direct) and kind (input, cached_input, output, reasoning)',
      labelNames: ['model', 'stage', 'mode', 'kind'],
      registers: [registry],
    });
    this.cost = new Counter({
      name: 'gs_openai_cost_usd_total',
      help: 'OpenAI cost in USD by model, stage and mode, from the configured price table (models without a price count 0)',
      labelNames: ['model', 'stage', 'mode'],
      registers: [registry],
    });
  }

  count(lines: readonly UsageLine[]): void {
    for (const line of lines) {
      const labels = { model: line.model, stage: line.stage, mode: line.mode };
      this.tokens.inc({ ...labels, kind: 'input' }, line.input_tokens);
      this.tokens.inc({ ...labels, kind: 'cached_input' }, line.cached_tokens);
      this.tokens.inc({ ...labels, kind: 'output' }, line.output_tokens);
      this.tokens.inc({ ...labels, kind: 'reasoning' }, line.reasoning_tokens);
      this.cost.inc(labels, costOf(this.config.openai.prices, line.model, line.mode, line) ?? 0);
    }
  }
}
