import { Module } from '@nestjs/common';
import { OpenAiBatchesModule } from '../openai-batches/openai-batches.module.js';
import { JobDataModule } from '../jobs/job-data.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { MetricSources } from './metric-sources.js';
import { MetricsRegistryModule } from '../common/metrics/metrics-registry.module.js';
import { MetricsService } from './metrics.service.js';

/** Metrics are collected here and served on the management port only (src/management). */
@Module({
  imports: [MetricsRegistryModule, JobDataModule, OpenAiBatchesModule, WebhooksModule],
  providers: [MetricSources, MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
