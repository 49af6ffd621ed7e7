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
 * Where feature modules register their tasks (in their constructor or
 * onModuleInit). Present in every role; only a process whose APP_ROLE
 * includes `worker` runs the tick loop that executes them.
 */
@Injectable()
export class WorkerTaskRegistry {
  private readonly tasks: WorkerTask[] = [];

  register(task: WorkerTask): void {
    if (this.tasks.some((known) => known.name === task.name)) throw new Error(`Worker task ${task.name} registered twice`);
    this.tasks.push(task);
  }

  list(): readonly WorkerTask[] {
    return this.tasks;
  }
}
