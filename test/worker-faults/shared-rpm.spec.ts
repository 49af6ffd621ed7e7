import { insertBatchJob, startSharedDatabase, waitFor, type SharedDatabaseHarness } from '../pipeline/pipeline-support.js';
import type { TestApp } from '../support/app.js';

/**
 * Issue 9 #6: OPENAI_MAX_RPM is the organisation's limit, so it holds for the
 * whole deployment. Two workers (two app instances on one database) make
 * direct calls for two jobs; together they never exceed the one budget, as
 * counted at the emulator. (Per process, each would have made 6.)
 */

const RPM = 6;
const ENV = { OPENAI_MAX_RPM: String(RPM), OPENAI_MAX_CONCURRENT: '2', SHUTDOWN_GRACE_SECONDS: '0.5' };

let h: SharedDatabaseHarness;
let apps: TestApp[];
beforeAll(async () => {
  h = await startSharedDatabase();
  apps = [await h.start(ENV), await h.start(ENV)];
});
afterAll(() => h.close());

async function directJob(n: number): Promise<string> {
  const lots = Array.from({ length: n }, (_, i) => ({
    lotId: `lot-${i}`,
    additionalInfo: `car ${i}`,
    images: [`${h.images.url}/img/${i}.jpg`],
  }));
  const jobId = await insertBatchJob(h.db, { languages: ['en'], lots, deferred: true });
  await h.db.query(`UPDATE batch_lots SET status = 'processing' WHERE batch_job_id = $1`, [jobId]);
  await h.db.query(
    `UPDATE batch_jobs SET status = 'processing', current_stage = 'vision_direct', started_at = now(), stage_started_at = now(), next_check_at = now() WHERE id = $1`,
    [jobId],
  );
  return jobId;
}

const claimedBy = async (jobId: string) =>
  (await h.db.query<{ claimed_by: string | null }>(`SELECT claimed_by FROM batch_jobs WHERE id = $1`, [jobId]))[0].claimed_by ?? undefined;

test('two workers share one OPENAI_MAX_RPM budget', async () => {
  const first = await directJob(8);
  const holderA = await waitFor(() => claimedBy(first), { what: 'a worker to take the first job' });
  const second = await directJob(8);
  const holderB = await waitFor(
    async () => {
      const holder = await claimedBy(second);
      return holder && holder !== holderA ? holder : undefined;
    },
    { what: 'the other worker to take the second job' },
  );
  expect(new Set([holderA, holderB])).toEqual(new Set(apps.map((app) => app.config.instanceId)));

  // Callers refused by the shared minute window (the counter goes past the budget by one per refusal): each
  // worker's chunk still has lots, so both are held back once the budget is spent.
  await waitFor(
    async () => {
      const [row] = await h.db.query<{ points: number }>(`SELECT points FROM openai_request_budget WHERE key = 'openai-rpm:responses'`);
      return (row?.points ?? 0) >= RPM + 2;
    },
    { timeoutMs: 30_000, what: 'callers to be refused by the shared budget' },
  );
  expect(h.emu.stats().requests['POST /v1/responses']).toBe(RPM);
  expect(h.emu.stats().responsesCreated).toBe(RPM);
  const done = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM batch_lots WHERE status = 'completed'`);
  expect(done[0].n).toBeLessThanOrEqual(RPM);
});
