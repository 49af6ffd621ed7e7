import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { collectDefaultMetrics, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { MetricsRegistry } from './metrics-registry.module.js';

/**
 * Prometheus metrics (reference 004). Process metrics and HTTP latency are
 * counted in-process; the state of jobs, lots, batches, deliveries and workers
 * is read from PostgreSQL at scrape time, so every replica reports the same
 * truth and nothing is lost on restart.
 */
@Injectable()
export class MetricsService {
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
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
    this.gauge('gs_jobs', 'Jobs by status', ['status'], `SELECT status, count(*)::int AS value FROM batch_jobs GROUP BY status`);
    this.gauge(
      'gs_lots_unfinished',
      'Lots not yet completed or failed, by status',
      ['status'],
      `SELECT status, count(*)::int AS value FROM batch_lots WHERE status NOT IN ('completed','failed','cancelled') GROUP BY status`,
    );
    this.gauge(
      'gs_openai_batches_open',
      'OpenAI batches not yet ingested, by stage',
      ['stage'],
      `SELECT stage, count(*)::int AS value FROM openai_batches WHERE ingested_at IS NULL GROUP BY stage`,
    );
    this.gauge(
      'gs_webhook_deliveries',
      'Webhook deliveries by status',
      ['status'],
      `SELECT status, count(*)::int AS value FROM webhook_deliveries GROUP BY status`,
    );
    this.gauge(
      'gs_worker_heartbeat_age_seconds',
      'Seconds since each worker instance last beat',
      ['instance'],
      `SELECT instance_id AS instance, extract(epoch FROM now() - last_beat_at)::float AS value FROM worker_heartbeats`,
    );
    this.gauge(
      'gs_oldest_active_job_age_seconds',
      'Age of the oldest job still pending, processing or translating',
      [],
      `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS value FROM batch_jobs WHERE status IN ('pending','processing','translating')`,
    );
  }

  /** A gauge filled by one SQL query at scrape time; rows give label values and `value`. */
  private gauge(name: string, help: string, labelNames: string[], sql: string): void {
    const dataSource = this.dataSource;
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        const rows: Record<string, string | number>[] = await dataSource.query(sql);
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
