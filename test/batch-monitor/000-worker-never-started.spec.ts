import { SchedulerRegistry } from '@nestjs/schedule';
import type { TestApp } from '../support/app.js';
import { insertBatchJob, jobRow, startSharedDatabase, waitFor, type SharedDatabaseHarness } from '../pipeline/pipeline-support.js';

/**
 * Reference 000 (bug #1): the background worker only started under
 * `python app.py`, never under gunicorn, and every batch job silently stopped
 * for a day. Here the role is explicit (default: API and worker), jobs move
 * with nobody polling or ticking, and health says when the worker is dead.
 */
describe('000 — worker never started', () => {
  let h: SharedDatabaseHarness;
  let app: TestApp;
  beforeEach(async () => {
    h = await startSharedDatabase();
  });
  afterEach(() => h.close());

  const job = () =>
    insertBatchJob(h.db, {
      languages: ['en', 'it'],
      lots: ['x', 'y'].map((lotId) => ({ lotId, images: [`${h.images.url}/img/${lotId}.jpg`] })),
    });
  // Only SQL: no HTTP request to the app, no manual tick — the process's own loop must do the work.
  const completed = (jobId: string) =>
    waitFor(async () => ((await jobRow(h.db, jobId)).status === 'completed' ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the job to complete',
    });

  it('with the default role (no APP_ROLE) a worker runs and jobs progress without any polling', async () => {
    app = await h.start();
    expect(app.config.role).toBe('all');
    await completed(await job());
  });

  it('a worker-only process (APP_ROLE=worker) completes jobs with zero HTTP traffic', async () => {
    app = await h.start({ APP_ROLE: 'worker' });
    await completed(await job());
    expect(h.emu.stats().batchesCreated).toBe(2);
  });

  it('/health/ready goes 503 when the worker heartbeat is stale', async () => {
    app = await h.start({ HEARTBEAT_STALE_AFTER: '0.5' });
    await waitFor(async () => (await app.fetch('/health/ready')).status === 200, { what: 'readiness' });
    // The tick loop dies (what gunicorn did to the seed's thread): the heartbeat goes stale.
    app.app.get(SchedulerRegistry).deleteInterval('worker-tick');
    const response = await waitFor(
      async () => {
        const ready = await app.fetch('/health/ready');
        return ready.status === 503 ? ready : undefined;
      },
      { timeoutMs: 5_000, what: 'readiness to fail' },
    );
    expect(await response.json()).toMatchObject({ message: 'Not healthy: workers', details: { error: { workers: { status: 'down' } } } });
    // Why, in detail, on the management port.
    expect(JSON.stringify(await (await app.manage('/health/ready')).json())).toMatch(/heartbeat is stale/);
  });
});
