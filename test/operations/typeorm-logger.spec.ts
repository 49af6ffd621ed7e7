import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { AppLogger } from '../../src/common/logging/app-logger.js';
import { dataSourceOptions } from '../../src/database/data-source.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * TypeORM never writes to the console: every DataSource the service builds
 * (application, migrations, CLI) logs through the Nest logger — the AppLogger
 * once main.ts has set it — so its lines are JSON like the others.
 */
describe('TypeORM through the application logger', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  const lines: string[] = [];
  const consoleCalls: unknown[][] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    Logger.overrideLogger(new AppLogger({ level: 'debug', json: true, destination: { write: (line: string) => void lines.push(line) } }));
    for (const method of ['log', 'info', 'warn', 'error'] as const) {
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleCalls.push(args));
    }
    dataSource = await new DataSource({ ...dataSourceOptions(db.url, 'typeorm-logger-test'), extra: { max: 1 } }).initialize();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await dataSource?.destroy();
    await db?.drop();
  });

  it('writes a failed query as one JSON error line of context TypeORM, nothing on the console', async () => {
    await expect(dataSource.query('SELECT no_such_column FROM batch_jobs WHERE id = $1', ['job-secret-value'])).rejects.toThrow();
    const typeorm = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.context === 'TypeORM');
    expect(typeorm).toHaveLength(1);
    expect(typeorm[0]).toMatchObject({ level: 'error' });
    expect(typeorm[0].message).toMatch(
      /^query failed: SELECT no_such_column FROM batch_jobs WHERE id = \$1 — column "no_such_column" does not exist/,
    );
    expect(lines.join('')).not.toContain('job-secret-value');
    expect(consoleCalls).toEqual([]);
  });
});
