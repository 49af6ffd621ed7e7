import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The operators' SQL from references 000, 001 and 002, verbatim (only the
 * placeholder job ids of the documents are kept). It must run unchanged
 * against this schema and see the truth.
 */
const JOB = '2b363ef1-6bfd-44f5-bcc8-6aee7e079698';
const JOB_002 = '550e8400-e29b-41d4-a716-446655440000';
const JOB_001 = '6908f1d2-39b9-4721-bb8a-dba18120df5f';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  for (const [id, status, batch] of [
    [JOB, 'completed', 'batch_6893661806988190a1732de302b1fa18'],
    [JOB_002, 'processing', null],
    [JOB_001, 'translating', 'batch_68936221f1008190b420012a7a510ccf'],
  ]) {
    await db.query(
      `INSERT INTO batch_jobs (id, client_id, status, processing_mode, version, languages, total_lots, openai_batch_id, created_at)
       VALUES ($1, 'default', $2, 'batch', '1.0.0', '["en","ru"]', 2, $3, '2025-08-06 13:00:00+00')`,
      [id, status, batch],
    );
  }
  await db.query(
    `INSERT INTO batch_lots (batch_job_id, position, lot_id, images, status, vision_result)
     VALUES ($1, 0, '5YJ3E1EB5KF433798', '[]', 'completed', '<p>Front bumper dented.</p>'), ($1, 1, 'lot-b', '[]', 'pending', NULL)`,
    [JOB],
  );
  await db.query(
    `INSERT INTO batch_lots (batch_job_id, position, lot_id, images, status, vision_result) VALUES ($1, 0, 'lot-c', '[]', 'completed', '<p>Hail.</p>')`,
    [JOB_001],
  );
  await db.query(
    `INSERT INTO webhook_deliveries (batch_job_id, webhook_url, event, status, attempt_count, max_attempts, last_attempt_at, delivered_at)
     VALUES ($1, 'https://hooks.example/a', 'batch_job_completed', 'delivered', 2, 5, now(), now()),
            ($1, 'https://hooks.example/b', 'batch_job_completed', 'failed', 5, 5, now(), NULL)`,
    [JOB_002],
  );
});
afterAll(() => db.drop());

test('000: job status check', async () => {
  const rows = await db.query(`
SELECT id, status, openai_batch_id, updated_at
FROM batch_jobs 
WHERE created_at > '2025-08-06 12:00:00';`);
  expect(rows).toHaveLength(3);
  expect(rows.find((row) => row.id === JOB)).toMatchObject({
    status: 'completed',
    openai_batch_id: 'batch_6893661806988190a1732de302b1fa18',
  });
});

test('000: vision results of a job', async () => {
  const rows = await db.query(`
SELECT lot_id, LENGTH(vision_result) as result_length
FROM batch_lots 
WHERE batch_job_id = '${JOB}' AND vision_result IS NOT NULL;`);
  expect(rows).toEqual([{ lot_id: '5YJ3E1EB5KF433798', result_length: '<p>Front bumper dented.</p>'.length }]);
});

test('001: recovered jobs and their lots', async () => {
  const jobs = await db.query(`
SELECT id, status, openai_batch_id, updated_at
FROM batch_jobs 
WHERE id IN (
  '6908f1d2-39b9-4721-bb8a-dba18120df5f',
  '440874b8-0136-4170-a312-b1111a2de6c6'
  -- и остальные...
);`);
  expect(jobs).toEqual([
    expect.objectContaining({ id: JOB_001, status: 'translating', openai_batch_id: 'batch_68936221f1008190b420012a7a510ccf' }),
  ]);
  const lots = await db.query(`
SELECT lot_id, LENGTH(vision_result) as result_length, status
FROM batch_lots 
WHERE batch_job_id = '6908f1d2-39b9-4721-bb8a-dba18120df5f'
LIMIT 3;`);
  expect(lots).toEqual([{ lot_id: 'lot-c', result_length: 12, status: 'completed' }]);
});

test('002: webhook delivery status of a job', async () => {
  const rows = await db.query(`
SELECT 
  id,
  batch_job_id,
  webhook_url,
  status,
  attempt_count,
  created_at,
  last_attempt_at,
  delivered_at,
  error_message
FROM webhook_deliveries 
WHERE batch_job_id = '550e8400-e29b-41d4-a716-446655440000';`);
  expect(rows.map((row) => [row.webhook_url, row.status, row.attempt_count]).sort()).toEqual([
    ['https://hooks.example/a', 'delivered', 2],
    ['https://hooks.example/b', 'failed', 5],
  ]);
});

test('002: webhook statistics for the last 24 hours', async () => {
  const rows = await db.query(`
SELECT 
  status,
  COUNT(*) as count,
  AVG(attempt_count) as avg_attempts
FROM webhook_deliveries 
WHERE created_at >= NOW() - INTERVAL '24 hours'
GROUP BY status;`);
  expect(rows.map((row) => [row.status, Number(row.count), Number(row.avg_attempts)]).sort()).toEqual([
    ['delivered', 1, 2],
    ['failed', 1, 5],
  ]);
});

test('002: job durations by status (troubleshooting section)', async () => {
  await db.query(`UPDATE batch_jobs SET created_at = now() - interval '1 hour', updated_at = now()`);
  const rows = await db.query(`
SELECT 
  status, 
  COUNT(*) as count,
  AVG(EXTRACT(EPOCH FROM (updated_at - created_at))) as avg_duration_seconds
FROM batch_jobs 
WHERE created_at >= NOW() - INTERVAL '24 hours'
GROUP BY status;
`);
  expect(rows).toHaveLength(3);
  for (const row of rows) expect(Number(row.avg_duration_seconds)).toBeGreaterThan(3500);
});

test('the schema uses proper types', async () => {
  const columns = await db.query<{ table_name: string; column_name: string; data_type: string }>(`
    SELECT table_name, column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name IN ('batch_jobs','batch_lots','webhook_deliveries','openai_batches')`);
  const type = (table: string, column: string) => columns.find((c) => c.table_name === table && c.column_name === column)?.data_type;
  expect(type('batch_jobs', 'id')).toBe('uuid');
  expect(type('batch_jobs', 'created_at')).toBe('timestamp with time zone');
  expect(type('batch_jobs', 'languages')).toBe('jsonb');
  expect(type('batch_jobs', 'client_id')).toBe('text');
  expect(type('batch_lots', 'vision_result')).toBe('text');
  expect(type('batch_lots', 'translations')).toBe('jsonb');
  expect(type('webhook_deliveries', 'last_attempt_at')).toBe('timestamp with time zone');
  for (const column of columns) expect(column.data_type).not.toMatch(/without time zone|character varying/);
});
