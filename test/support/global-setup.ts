import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedDatabase } from '../../src/database/embedded-postgres.js';

declare global {
  var __EMBEDDED_PG__: EmbeddedDatabase | undefined;
}

/**
 * One PostgreSQL for the whole run: the embedded one, or DATABASE_URL when set.
 * (Jest loads this file as CommonJS without its module mapper, hence the
 * explicit `.ts` require; the template database is migrated by the first test
 * file that needs it — see test/support/database.ts.)
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const { startEmbeddedPostgres } =
      require('../../src/database/embedded-postgres.ts') as typeof import('../../src/database/embedded-postgres.js');
    const dataDir = await mkdtemp(join(tmpdir(), 'gs-test-pg-'));
    globalThis.__EMBEDDED_PG__ = await startEmbeddedPostgres({ dataDir, persistent: false });
    adminUrl = globalThis.__EMBEDDED_PG__.url;
  }
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = `gs_test_template_${process.pid}`;
}
