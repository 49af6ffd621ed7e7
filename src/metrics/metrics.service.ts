import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Histogram } from 'prom-client';
import { AppConfig } from '../config/app-config.js';
import { MetricSources } from './metric-sources.js';
import { MetricsRegistry } from '../common/metrics/metrics-registry.module.js';

/** One row of a gauge: its label values and `value`. */
type GaugeRow = Record<string, string | number>;

/**
 * Prometheus metrics (reference 004). Process metrics and HTTP latency are
 * counted in-process; the state of jobs, lots, batches, deliveries and workers
 * is read from PostgreSQL at scrape time (each asked of the module that owns
 * the table), so every replica reports the same truth and nothing is lost on restart.
 */
@Injectable()
export class MetricsService {
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    private readonly sources: MetricSources,
    config: AppConfig,
    /** Shared with the modules that register their own metrics (the OpenAI gateway). */
    readonly registry: MetricsRegistry,
  ) {
    this.registry.setDefaultLabels({ role: config.role });
    collectDefaultMetrics({ register: this.registry, prefix: 'gs_' });
    this.httpDuration = new Histogram({
      name: 'gs_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300],
      registers: [this.registry],
    });
    this.gauge('gs_jobs', 'Jobs by status', ['status'], () => this.sources.jobs.countJobsByStatus());
    this.gauge('gs_lots_unfinished', 'Lots not yet completed or failed, by status', ['status'], () =>
      this.sources.jobs.countUnfinishedLots(),
    );
    this.gauge('gs_openai_batches_open', 'OpenAI batches not yet ingested, by stage', ['stage'], () =>
      this.sources.batches.countOpenByStage(),
    );
    this.gauge('gs_webhook_deliveries', 'Webhook deliveries by status', ['status'], () => this.sources.webhooks.countByStatus());
    this.gauge('gs_worker_heartbeat_age_seconds', 'Seconds since each worker instance last beat', ['instance'], () =>
      this.sources.heartbeats.ages(),
    );
    this.gauge('gs_oldest_active_job_age_seconds', 'Age of the oldest job still pending, processing or translating', [], async () => [
      { value: await this.sources.jobs.oldestActiveJobAgeSeconds() },
    ]);
  }

  /**
   * Times one answered request (fed by the request-logging middleware, which sees every request of the public
   * port — refused ones included — at no extra per-request cost), by route template: never the raw path, job ids
   * would explode cardinality.
   */
  observeHttp(request: { method: string; route: string | undefined; status: number; durationSeconds: number }): void {
    this.httpDuration.observe(
      { method: request.method, route: request.route ?? 'unmatched', status: String(request.status) },
      request.durationSeconds,
    );
  }

  /** A gauge filled at scrape time by `read`; rows give label values and `value`. */
  private gauge(name: string, help: string, labelNames: string[], read: () => Promise<GaugeRow[]>): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        const rows = await read();
        for (const row of rows) {
          const labels = Object.fromEntries(labelNames.map((label) => [label, String(row[label])]));
          this.set(labels, Number(row.value));
        }
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
