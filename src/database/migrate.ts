/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL and exits.
 * For operators who start the service with RUN_MIGRATIONS=false.
 */
import 'reflect-metadata';
import { runMigrations } from './data-source.js';
import { errorText } from '../common/errors/error-text.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL must be set to run migrations by hand.');
  process.exit(2);
}
try {
  const applied = await runMigrations(url, (line) => console.log(line));
  console.log(applied.length ? `${applied.length} migration(s) applied.` : 'Schema is up to date.');
} catch (error) {
  console.error(`Migration failed: ${errorText(error)}`);
  process.exit(1);
}
