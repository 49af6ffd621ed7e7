import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WorkerHeartbeat } from './worker-heartbeat.entity.js';
import { WorkerHeartbeatService } from './worker-heartbeat.service.js';
import { WorkerSignal } from './worker-signal.js';
import { WorkerTaskRegistry } from './worker-task.js';
import { WorkerTickService } from './worker-tick.service.js';

/** In every role: the task registry and the heartbeat table (health reads it). */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([WorkerHeartbeat])],
  providers: [WorkerHeartbeatService, WorkerTaskRegistry, WorkerSignal],
  exports: [WorkerHeartbeatService, WorkerTaskRegistry, WorkerSignal],
})
export class WorkerCoreModule {}

/** The worker role: the tick loop that beats and runs the registered tasks. No controllers. */
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [WorkerTickService],
  exports: [WorkerTickService],
})
export class WorkerModule {}
