import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config.js';
import { WorkerHeartbeatService } from './worker-heartbeat.service.js';
import { outsideLogScope } from '../common/logging/log-context.js';
import { outsideTrace } from '../common/tracing/tracing.js';
import { WorkerSignal } from './worker-signal.js';
import { WorkerTaskRegistry, type WorkerTask } from './worker-task.js';
import { errorText } from '../common/errors/error-text.js';
import { DatabaseOutageMonitor } from '../database/database-outage.js';
import { upstreamOf } from '../common/errors/upstream-error.js';

const INTERVAL_NAME = 'worker-tick';
const KEEPER_INTERVAL_NAME = 'worker-claim-keeper';

/**
 * The worker loop (only in processes whose APP_ROLE includes `worker`; the
 * role is explicit, never inferred — reference 000). Every WORKER_POLL_INTERVAL
 * it writes this instance's heartbeat, then starts each registered task that
 * is not still running from an earlier tick.
 */
@Injectable()
export class WorkerTickService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Worker');
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  private keeping = false;
  private stopped: Promise<void> | undefined;
  private lastTickAt?: Date;

  constructor(
    private readonly config: AppConfig,
    private readonly heartbeat: WorkerHeartbeatService,
    private readonly scheduler: SchedulerRegistry,
    private readonly registry: WorkerTaskRegistry,
    private readonly signal: WorkerSignal,
    private readonly outage: DatabaseOutageMonitor,
  ) {}

  private unsubscribe?: () => void;
  private wakeTimer?: NodeJS.Timeout;

  get taskNames(): string[] {
    return this.registry.list().map((task) => task.name);
  }

  onApplicationBootstrap(): void {
    this.logger.log(
      `worker ${this.config.instanceId} started: tick every ${this.config.worker.pollIntervalMs} ms, tasks [${this.taskNames.join(', ')}]`,
    );
    const interval = setInterval(() => void this.tick(), this.config.worker.pollIntervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, interval);
    // Claims stay valid exactly while their holder is alive and working: renewed (with the heartbeat) while steps run.
    this.scheduler.addInterval(
      KEEPER_INTERVAL_NAME,
      setInterval(() => void this.keep(), this.config.worker.beatIntervalMs),
    );
    // New work in this process: tick soon (debounced) rather than at the next interval.
    this.unsubscribe = this.signal.subscribe(() => {
      this.wakeTimer ??= setTimeout(() => {
        this.wakeTimer = undefined;
        // The timer was set inside the request that stored the job: the tick is the worker's own, not in that request's logs or trace.
        outsideLogScope(() => outsideTrace(() => void this.tick()));
      }, 50);
    });
    void this.tick();
  }

  /** While any task holds claims: beat, and renew them (a step may outlast many ticks). */
  private async keep(): Promise<void> {
    const keepers = this.registry.listKeepers().filter((keeper) => keeper.held() > 0);
    if (keepers.length === 0 || this.keeping) return;
    this.keeping = true;
    try {
      await this.heartbeat.beat();
      await Promise.all(keepers.map((keeper) => keeper.renew()));
    } catch (error) {
      if (!this.outage.absorb(error)) this.logger.warn(`renewing claims failed: ${errorText(error)}`);
    } finally {
      this.keeping = false;
    }
  }

  /** One tick; also callable directly by tests that want a deterministic step. */
  async tick(): Promise<void> {
    if (this.stopping || this.registry.stopping.aborted) return;
    this.lastTickAt = new Date();
    try {
      await this.heartbeat.beat();
      this.outage.succeeded();
    } catch (error) {
      // A database outage is reported once (and reminded), not once per tick; the tasks would only fail too.
      if (this.outage.absorb(error)) return;
      this.logger.error(`heartbeat failed: ${errorText(error)}`);
    }
    await Promise.all(this.registry.list().map((task) => this.start(task)));
  }

  /** Runs every task once and waits for all of them (tests and shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.running.values()]);
  }

  private start(task: WorkerTask): Promise<void> {
    const current = this.running.get(task.name);
    if (current) return current;
    const run = task
      .run()
      .catch((error: unknown) => {
        // One failing task never stops the loop; it is retried on the next tick.
        if (this.outage.absorb(error)) return;
        // OpenAI unreachable after the gateway's retries: an outage of theirs, not a bug of ours — no stack trace.
        const upstream = upstreamOf(error);
        if (upstream) this.logger.warn(`task ${task.name}: ${upstream} unreachable (${errorText(error)}); retried on the next tick`);
        else this.logger.error(`task ${task.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      })
      .finally(() => this.running.delete(task.name));
    this.running.set(task.name, run);
    return run;
  }

  /**
   * Before the database closes: claim nothing more at once, give in-flight
   * steps SHUTDOWN_GRACE_SECONDS to finish (then abort them), release every
   * claim still held so another worker continues immediately, retire the heartbeat.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  /**
   * The shutdown itself, called by main.ts the moment a signal arrives —
   * before Nest's own close, whose onModuleDestroy hooks (e.g. the HTTP
   * client's, which waits for requests in flight) would otherwise delay it —
   * and by beforeApplicationShutdown when the app is closed directly.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const started = Date.now();
    this.stopping = true;
    this.registry.stop();
    this.unsubscribe?.();
    clearTimeout(this.wakeTimer);
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    // Renewal goes on while steps finish: the claims stay ours until released.
    const grace = this.config.worker.shutdownGraceMs;
    await Promise.all(
      this.registry
        .listKeepers()
        .map((keeper) =>
          keeper.stop(grace).catch((error: unknown) => this.logger.error(`stopping ${keeper.name} failed: ${errorText(error)}`)),
        ),
    );
    // Tasks without claims (the reconciliation sweep) get what is left of the grace, not more.
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.drain().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(1_000, started + grace - Date.now())))),
    ]);
    clearTimeout(timer);
    if (!drained)
      this.logger.warn(`tasks still running after the ${grace} ms grace (${[...this.running.keys()].join(', ')}); stopping anyway`);
    if (this.scheduler.doesExist('interval', KEEPER_INTERVAL_NAME)) this.scheduler.deleteInterval(KEEPER_INTERVAL_NAME);
    await this.heartbeat.retire().catch(() => undefined);
    this.logger.log(
      `worker ${this.config.instanceId} stopped in ${Date.now() - started} ms (last tick ${this.lastTickAt?.toISOString() ?? 'never'})`,
    );
  }
}
