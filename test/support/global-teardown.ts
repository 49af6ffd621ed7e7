import pg from 'pg';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  if (process.env.DATABASE_URL && adminUrl) {
    // On a shared server, leave nothing behind but what failed tests left to inspect.
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${process.env.TEST_PG_TEMPLATE} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  await globalThis.__EMBEDDED_PG__?.stop();
}
