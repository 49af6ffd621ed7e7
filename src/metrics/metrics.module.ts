import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { HttpMetricsInterceptor } from './http-metrics.interceptor.js';
import { MetricsRegistryModule } from './metrics-registry.module.js';
import { MetricsService } from './metrics.service.js';

/** Metrics are collected here and served on the management port only (src/management). */
@Module({
  imports: [MetricsRegistryModule],
  providers: [MetricsService, { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor }],
  exports: [MetricsService],
})
export class MetricsModule {}
