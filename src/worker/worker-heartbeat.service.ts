import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { hostname } from 'node:os';
import { Repository } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { query } from '../database/sql.js';
import { WorkerHeartbeat } from './worker-heartbeat.entity.js';

export interface WorkerLiveness {
  instance_id: string;
  role: string;
  hostname: string;
  pid: number;
  started_at: string;
  last_beat_at: string;
  seconds_since_beat: number;
  alive: boolean;
}

/** Writes this worker's heartbeat row and reads everyone's (reference 000: a dead worker must show). */
@Injectable()
export class WorkerHeartbeatService {
  private readonly startedAt = new Date();

  constructor(
    @InjectRepository(WorkerHeartbeat) private readonly heartbeats: Repository<WorkerHeartbeat>,
    private readonly config: AppConfig,
  ) {}

  /** Writes this instance's beat, and forgets instances silent for a day (crashed replicas, old pods). */
  async beat(): Promise<void> {
    await this.heartbeats.createQueryBuilder().delete().where(`last_beat_at < now() - interval '1 day'`).execute();
    // The database's clock, like the claim query that compares against it (replicas' clocks may differ).
    await this.heartbeats.query(
      `INSERT INTO worker_heartbeats (instance_id, role, hostname, pid, started_at, last_beat_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (instance_id) DO UPDATE SET last_beat_at = now()`,
      [this.config.instanceId, this.config.role, hostname(), process.pid, this.startedAt],
    );
  }

  /** Removes this instance's row on a clean shutdown, so health lists only live or crashed workers. */
  async retire(): Promise<void> {
    await this.heartbeats.delete({ instanceId: this.config.instanceId });
  }

  /** Every known worker with the age of its last beat (read-only: health probes never write). */
  async list(now = new Date()): Promise<WorkerLiveness[]> {
    const rows = await this.heartbeats.find({ order: { lastBeatAt: 'DESC' } });
    return rows.map((row) => {
      const age = (now.getTime() - row.lastBeatAt.getTime()) / 1000;
      return {
        instance_id: row.instanceId,
        role: row.role,
        hostname: row.hostname,
        pid: row.pid,
        started_at: row.startedAt.toISOString(),
        last_beat_at: row.lastBeatAt.toISOString(),
        seconds_since_beat: Math.max(0, Math.round(age * 10) / 10),
        alive: age * 1000 <= this.config.worker.heartbeatStaleMs,
      };
    });
  }

  /** Seconds since each instance last beat, by the database's clock (metrics). */
  ages(): Promise<{ instance: string; value: number }[]> {
    return query(
      this.heartbeats.manager,
      `SELECT instance_id AS instance, extract(epoch FROM now() - last_beat_at)::float AS value FROM worker_heartbeats`,
    );
  }

  /** Instances whose last beat is within WORKER_HEARTBEAT_STALE, by the database's clock (the claim query's): their claims are respected. */
  async liveInstanceIds(): Promise<string[]> {
    const rows = await query<{ instance_id: string }>(
      this.heartbeats.manager,
      `SELECT instance_id FROM worker_heartbeats WHERE last_beat_at > now() - make_interval(secs => $1)`,
      [this.config.worker.heartbeatStaleMs / 1000],
    );
    return rows.map((row) => row.instance_id);
  }
}
