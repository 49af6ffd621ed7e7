import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { instrumentPostgres, summarizeStatement } from '../../src/database/postgres-spans.js';
import { startTracing, withSpan, type Tracing } from '../../src/common/tracing/tracing.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The PostgreSQL query spans on a real connection: every calling form of
 * `pg.Client#query`, query objects passed through, nothing outside a span,
 * nothing at all without tracing, and never a value.
 */
describe('PostgreSQL query spans', () => {
  const exporter = new InMemorySpanExporter();
  const driverQuery = () => (pg.Client.prototype as unknown as { query: unknown }).query;
  const original = driverQuery();
  let db: TestDatabase;
  let client: pg.Client;
  let tracing: Tracing | undefined;

  const queries = (): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.attributes['db.system.name'] === 'postgresql');
  const parentTest = () => exporter.getFinishedSpans().find((span) => span.name === 'test')!;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await tracing?.shutdown();
    await db?.drop();
  });

  beforeEach(() => exporter.reset());

  it('leaves the driver untouched while tracing is off', () => {
    expect(instrumentPostgres()).toBe(false);
    expect(driverQuery()).toBe(original);
  });

  describe('with tracing on', () => {
    beforeAll(() => {
      tracing = startTracing({ enabled: true, serviceName: 'pg-spans-test' }, { exporter });
      expect(instrumentPostgres()).toBe(true);
      expect(instrumentPostgres()).toBe(true); // once: a second call does not wrap the wrapper
    });

    it('makes a CLIENT child span of the active span for a promise query, with the summary and no value', async () => {
      const secret = 'value-that-must-not-leak';
      await withSpan('test', {}, async () => {
        const result = await client.query<{ v: string }>(`SELECT $1::text AS v FROM pg_class WHERE relname <> 'x' LIMIT 1`, [secret]);
        expect(result.rows[0].v).toBe(secret);
      });
      const [span] = queries();
      expect(queries()).toHaveLength(1);
      expect(span.name).toBe('SELECT pg_class');
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.parentSpanContext?.spanId).toBe(parentTest().spanContext().spanId);
      expect(span.attributes).toMatchObject({
        'db.system': 'postgresql',
        'db.system.name': 'postgresql',
        'db.operation.name': 'SELECT',
        'db.collection.name': 'pg_class',
        'db.query.summary': 'SELECT pg_class',
        'db.namespace': db.name,
        'db.response.returned_rows': 1,
      });
      expect(JSON.stringify(span.attributes)).not.toContain(secret);
    });

    it('ends the span of a failed query with the SQLSTATE only (a message may quote a value)', async () => {
      await withSpan('test', {}, async () => {
        await expect(client.query('SELECT $1::uuid', ['not-a-uuid-secret'])).rejects.toThrow(/invalid input syntax/);
      });
      const [span] = queries();
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'SQLSTATE 22P02' });
      expect(span.attributes).toMatchObject({ 'error.type': '22P02', 'db.response.status_code': '22P02' });
      expect(JSON.stringify([span.attributes, span.status, span.events])).not.toContain('not-a-uuid-secret');
    });

    it('covers the callback forms: (text, cb), (text, values, cb) and ({ text, callback })', async () => {
      const viaCallback = (call: (done: (error: Error | null) => void) => void) =>
        new Promise<void>((resolve, reject) => call((error) => (error ? reject(error) : resolve())));
      await withSpan('test', {}, async () => {
        await viaCallback((done) => client.query('SELECT 1', (error: Error | null) => done(error)));
        await viaCallback((done) => client.query('SELECT $1::int', [2], (error: Error | null) => done(error)));
        await viaCallback((done) => {
          // With a callback in the config, pg returns no promise.
          void client.query({
            text: 'UPDATE pg_settings SET setting = setting WHERE false',
            callback: (error: Error | null) => done(error),
          } as pg.QueryConfig);
        });
      });
      expect(queries().map((span) => span.name)).toEqual(['SELECT', 'SELECT', 'UPDATE pg_settings']);
      for (const span of queries()) {
        expect(span.parentSpanContext?.spanId).toBe(parentTest().spanContext().spanId);
        expect(span.ended).toBe(true);
      }
    });

    it('passes query objects (streams, cursors: anything with submit) through untouched', async () => {
      const rows: unknown[] = [];
      await withSpan('test', {}, async () => {
        const query = new pg.Query('SELECT generate_series(1, 3) AS n');
        const returned = client.query(query);
        expect(returned).toBe(query);
        await new Promise<void>((resolve, reject) => {
          query.on('row', (row: unknown) => rows.push(row));
          query.on('end', () => resolve());
          query.on('error', reject);
        });
      });
      expect(rows).toHaveLength(3);
      expect(queries()).toHaveLength(0);
    });

    it('starts no span for a query outside any span (no root spans from background work)', async () => {
      await client.query('SELECT 1');
      expect(exporter.getFinishedSpans()).toHaveLength(0);
    });
  });
});

describe('summarizeStatement', () => {
  it.each([
    ['SELECT id FROM batch_jobs WHERE id = $1', 'SELECT batch_jobs'],
    ['  -- claim\n  UPDATE "batch_jobs" SET x = 1', 'UPDATE batch_jobs'],
    ['INSERT INTO public.batch_lots (a) VALUES ($1)', 'INSERT batch_lots'],
    ['DELETE FROM "public"."webhook_deliveries" WHERE true', 'DELETE webhook_deliveries'],
    [`SELECT 'from secrets' AS x FROM api_clients`, 'SELECT api_clients'],
    ['(SELECT 1)', 'SELECT'],
    ['COMMIT', 'COMMIT'],
    ['INSERT INTO "batch_jobs"("id", "client_id") VALUES (DEFAULT, $1)', 'INSERT batch_jobs'],
    ['START TRANSACTION', 'START TRANSACTION'],
    ['SELECT key, value FROM jsonb_each($1::jsonb) AS e JOIN batch_lots l ON true', 'SELECT batch_lots'],
    ['/* nothing */ ', 'query'],
  ])('%j → %s', (text, summary) => {
    expect(summarizeStatement(text).summary).toBe(summary);
  });
});
