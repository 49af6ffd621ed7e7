import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config.js';
import { WorkerHeartbeatService } from './worker-heartbeat.service.js';
import { WorkerSignal } from './worker-signal.js';
import { WorkerTaskRegistry, type WorkerTask } from './worker-task.js';
import { errorText } from '../common/errors/error-text.js';

const INTERVAL_NAME = 'worker-tick';

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
  private lastTickAt?: Date;

  constructor(
    private readonly config: AppConfig,
    private readonly heartbeat: WorkerHeartbeatService,
    private readonly scheduler: SchedulerRegistry,
    private readonly registry: WorkerTaskRegistry,
    private readonly signal: WorkerSignal,
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
    // New work in this process: tick soon (debounced) rather than at the next interval.
    this.unsubscribe = this.signal.subscribe(() => {
      this.wakeTimer ??= setTimeout(() => {
        this.wakeTimer = undefined;
        void this.tick();
      }, 50);
    });
    void this.tick();
  }

  /** One tick; also callable directly by tests that want a deterministic step. */
  async tick(): Promise<void> {
    if (this.stopping) return;
    this.lastTickAt = new Date();
    try {
      await this.heartbeat.beat();
    } catch (error) {
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
        this.logger.error(`task ${task.name} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      })
      .finally(() => this.running.delete(task.name));
    this.running.set(task.name, run);
    return run;
  }

  /** Before the database closes: stop ticking, let running tasks finish, retire the heartbeat. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    clearTimeout(this.wakeTimer);
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.drain();
    await this.heartbeat.retire().catch(() => undefined);
    this.logger.log(`worker ${this.config.instanceId} stopped (last tick ${this.lastTickAt?.toISOString() ?? 'never'})`);
  }
}
