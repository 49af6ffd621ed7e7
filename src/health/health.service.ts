import { Injectable } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from '../database/database-health.js';
import { AppConfig } from '../config/app-config.js';
import { WorkerHeartbeatService } from '../worker/worker-heartbeat.service.js';
import { errorText } from '../common/errors/error-text.js';
import { redactUrl } from '../common/http/safe-request.js';

const DB_TIMEOUT_MS = 1500;

/**
 * The probes, in full detail (hosts, pids, instance ids, the OpenAI endpoint):
 * the management port serves them as they are, the public port reduces them
 * to a status per check (HealthController). Each throws Terminus'
 * ServiceUnavailableException (503) when a check fails.
 *
 * Liveness looks at the process only, so a database outage never gets healthy
 * pods killed; readiness and the overall check need the database, the schema
 * and — in worker processes — a fresh heartbeat.
 */
@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DatabaseHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly heartbeats: WorkerHeartbeatService,
    private readonly config: AppConfig,
  ) {}

  /** The Docker HEALTHCHECK: readiness plus the OpenAI mode and every known worker. */
  overall(): Promise<HealthCheckResult> {
    return this.health.check([...this.readinessChecks(), () => this.openAiMode(), () => this.workers(false)]);
  }

  /**
   * Liveness: the process answers. Built directly — Terminus' runner adds nothing to a check that cannot fail,
   * and this is the probe orchestrators (and load balancers) call most.
   */
  live(): HealthCheckResult {
    const process_ = {
      status: 'up' as const,
      uptime_seconds: Math.round(process.uptime() * 10) / 10,
      pid: process.pid,
      role: this.config.role,
    };
    return { status: 'ok', info: { process: process_ }, error: {}, details: { process: process_ } };
  }

  ready(): Promise<HealthCheckResult> {
    return this.health.check([...this.readinessChecks(), () => this.workers(true)]);
  }

  private readinessChecks() {
    return [() => this.db.reachable('database', DB_TIMEOUT_MS), () => this.db.migrated('migrations', DB_TIMEOUT_MS)];
  }

  /**
   * Lists every known worker with its last heartbeat. Down when this process
   * runs a worker whose own heartbeat is stale; degraded on /health when no
   * worker anywhere is alive.
   */
  private async workers(requireSelf: boolean) {
    const check = this.indicators.check('workers');
    let workers;
    try {
      workers = await this.heartbeats.list();
    } catch (error) {
      return check.down({ message: `cannot read heartbeats: ${errorText(error)}` });
    }
    const self = workers.find((worker) => worker.instance_id === this.config.instanceId);
    const summary = {
      this_instance: this.config.runsWorker ? this.config.instanceId : null,
      stale_after_seconds: this.config.worker.heartbeatStaleMs / 1000,
      alive: workers.filter((worker) => worker.alive).length,
      instances: workers,
    };
    if (this.config.runsWorker && !self?.alive) {
      return check.down({ ...summary, message: 'this process runs a worker but its heartbeat is stale or missing' });
    }
    if (!requireSelf && summary.alive === 0) {
      // Visible, but not fatal for an API-only process: restarting it would not revive the workers.
      return check.degraded({ ...summary, message: 'no live worker: batch jobs will not progress' });
    }
    return check.up(summary);
  }

  private openAiMode() {
    const check = this.indicators.check('openai');
    // Even inside the cluster a password in the base URL (a proxy's) is never shown.
    const baseUrl = redactUrl(new URL(this.config.openai.baseUrl ?? 'https://api.openai.com/v1'));
    const data = { mode: this.config.openai.offline ? 'offline-emulator' : 'openai', base_url: baseUrl };
    // Offline mode is a loud, visible state, but the service itself works.
    return this.config.openai.offline
      ? check.degraded({ ...data, message: 'OFFLINE MODE: answers come from the built-in OpenAI emulator, not from OpenAI' })
      : check.up(data);
  }
}
