import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One row per worker process, refreshed on every tick; health reads it (reference 000). */
@Entity('worker_heartbeats')
export class WorkerHeartbeat {
  @PrimaryColumn({ name: 'instance_id', type: 'text' })
  instanceId: string;

  @Column({ type: 'text' })
  role: string;

  @Column({ type: 'text' })
  hostname: string;

  @Column({ type: 'int' })
  pid: number;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'last_beat_at', type: 'timestamptz' })
  lastBeatAt: Date;
}
