import { Injectable } from '@nestjs/common';

/**
 * A piece of background work run on every worker tick (batch monitor,
 * webhook sender, ...). Runs of one task never overlap; tasks run
 * independently of each other, so a slow task never delays another's tick.
 */
export interface WorkerTask {
  readonly name: string;
  run(): Promise<void>;
}

/**
 * A task's side of liveness and shutdown: while it holds claims the worker
 * renews them on every beat (and writes its heartbeat), and on SIGTERM/SIGINT
 * it is given the grace period to finish or abandon its steps and release
 * what it still holds.
 */
export interface WorkerKeeper {
  readonly name: string;
  /** Claims held right now (steps running). */
  held(): number;
  renew(): Promise<void>;
  stop(graceMs: number): Promise<void>;
}

/**
 * Where feature modules register their tasks (in their constructor or
 * onModuleInit). Present in every role; only a process whose APP_ROLE
 * includes `worker` runs the tick loop that executes them.
 */
@Injectable()
export class WorkerTaskRegistry {
  private readonly tasks: WorkerTask[] = [];
  private readonly keepers: WorkerKeeper[] = [];
  private readonly stopController = new AbortController();

  /** Aborted the moment shutdown begins: tasks claim nothing after it. */
  get stopping(): AbortSignal {
    return this.stopController.signal;
  }

  stop(): void {
    if (!this.stopController.signal.aborted) this.stopController.abort(new Error('shutting down'));
  }

  registerKeeper(keeper: WorkerKeeper): void {
    this.keepers.push(keeper);
  }

  listKeepers(): readonly WorkerKeeper[] {
    return this.keepers;
  }

  register(task: WorkerTask): void {
    if (this.tasks.some((known) => known.name === task.name)) throw new Error(`Worker task ${task.name} registered twice`);
    this.tasks.push(task);
  }

  list(): readonly WorkerTask[] {
    return this.tasks;
  }
}
