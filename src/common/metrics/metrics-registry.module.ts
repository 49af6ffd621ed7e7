import { Global, Injectable, Module } from '@nestjs/common';
import { Registry } from 'prom-client';

/**
 * The application's one Prometheus registry. Global and dependency-free, so
 * any module can register its own metrics (the OpenAI gateway does) without
 * importing MetricsModule and its database-backed gauges.
 */
@Injectable()
export class MetricsRegistry extends Registry {}

@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsRegistryModule {}
