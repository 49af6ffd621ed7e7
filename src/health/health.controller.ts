import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/signed.decorator.js';
import { AppConfig } from '../config/app-config.js';
import { WorkerHeartbeatService } from '../worker/worker-heartbeat.service.js';
import { errorText } from '../common/errors/error-text.js';

const DB_TIMEOUT_MS = 1500;

/**
 * Probes for Kubernetes and Docker. Liveness looks at the process only, so a
 * database outage never gets healthy pods killed; readiness and /health need
 * the database, the schema and — in worker processes — a fresh heartbeat.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly heartbeats: WorkerHeartbeatService,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Overall health (Docker HEALTHCHECK): database, schema, workers, OpenAI mode' })
  check() {
    return this.health.check([...this.readinessChecks(), () => this.openAiMode(), () => this.workers(false)]);
  }

  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers. Never depends on PostgreSQL or OpenAI.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', info: { process: { status: 'up', uptime_seconds: 12.3 } } } } })
  live() {
    return this.health.check([
      () => this.indicators.check('process').up({ uptime_seconds: Math.round(process.uptime() * 10) / 10, pid: process.pid, role: this.config.role }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: database ping, migrations applied, and this worker\'s heartbeat fresh' })
  @ApiServiceUnavailableResponse({ description: 'Not ready: see the failing indicator in `error`' })
  ready() {
    return this.health.check([...this.readinessChecks(), () => this.workers(true)]);
  }

  private readinessChecks() {
    return [
      () => this.db.pingCheck('database', { timeout: DB_TIMEOUT_MS }),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            const pending = await this.dataSource.showMigrations();
            if (pending) throw new Error('pending migrations: run `npm run migrate` or start with RUN_MIGRATIONS=true');
            return { applied: this.dataSource.migrations.length };
          })
          .withTimeout(DB_TIMEOUT_MS),
    ];
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
    const data = { mode: this.config.openai.offline ? 'offline-emulator' : 'openai', base_url: this.config.openai.baseUrl ?? 'https://api.openai.com/v1' };
    // Offline mode is a loud, visible state, but the service itself works.
    return this.config.openai.offline
      ? check.degraded({ ...data, message: 'OFFLINE MODE: answers come from the built-in OpenAI emulator, not from OpenAI' })
      : check.up(data);
  }
}
