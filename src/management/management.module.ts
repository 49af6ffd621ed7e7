import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ManagementServer } from './management.server.js';

/** The management listener; main.ts and the tests start it next to the public port. */
@Module({
  imports: [HealthModule, MetricsModule],
  providers: [ManagementServer],
  exports: [ManagementServer],
})
export class ManagementModule {}
