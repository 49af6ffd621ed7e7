import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The database's two probes for the health module: a ping (Terminus' TypeORM
 * indicator) and "every migration applied". Provided by HealthModule, which
 * owns Terminus; the data source stays in src/database.
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ping: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
  ) {}

  reachable<Key extends string>(key: Key, timeoutMs: number) {
    return this.ping.pingCheck(key, { timeout: timeoutMs });
  }

  migrated<Key extends string>(key: Key, timeoutMs: number) {
    return this.indicators
      .check(key)
      .attempt(async () => {
        const pending = await this.dataSource.showMigrations();
        if (pending) throw new Error('pending migrations: run `npm run migrate` or start with RUN_MIGRATIONS=true');
        return { applied: this.dataSource.migrations.length };
      })
      .withTimeout(timeoutMs);
  }
}
