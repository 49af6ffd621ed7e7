import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { TypeOrmNestLogger } from './database-outage.js';
import { ENTITIES } from './entities.js';

export const MIGRATIONS_TABLE = 'schema_migrations';

/** TypeORM options shared by the application, the migration command and the tests. */
export function dataSourceOptions(url: string, applicationName = 'generation-service'): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: false, // run under an advisory lock by runMigrations(), never by synchronize
    synchronize: false,
    logging: ['error', 'warn'],
    // Not TypeORM's console logger: warnings and errors through the Nest logger (the AppLogger once set, see main.ts),
    // migrations and the CLI included. (runMigrations' caller logs each migration applied.)
    logger: new TypeOrmNestLogger(undefined, false),
    extra: {
      max: 20,
      connectionTimeoutMillis: 5000,
      application_name: applicationName,
    },
  };
}

/** Arbitrary, stable key for the advisory lock that serialises concurrent migrators. */
const MIGRATION_LOCK_KEY = 727_301_115;

/**
 * Applies pending migrations. Several replicas may start at once: an advisory
 * lock makes the others wait and then find nothing left to do.
 */
export async function runMigrations(url: string, log: (line: string) => void = () => undefined): Promise<string[]> {
  const dataSource = new DataSource({ ...dataSourceOptions(url, 'generation-service-migrate'), extra: { max: 1 } });
  await dataSource.initialize();
  try {
    await dataSource.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      for (const migration of applied) log(`applied migration ${migration.name}`);
      return applied.map((migration) => migration.name);
    } finally {
      await dataSource.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await dataSource.destroy();
  }
}
