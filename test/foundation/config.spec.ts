import { AppConfig } from '../../src/config/app-config.js';
import { ConfigError, parseEnvironment } from '../../src/config/environment.js';

const runtime = {
  databaseUrl: 'postgresql://localhost/x',
  embeddedDatabase: false,
  openaiApiKey: 'k',
  offline: false,
  sharedKey: 'k'.repeat(32),
  sharedKeyGenerated: false,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseEnvironment(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

test('defaults follow reference 002 and SPEC §10', () => {
  const config = new AppConfig(parseEnvironment({}), runtime);
  expect(config.port).toBe(5000);
  expect(config.role).toBe('all');
  expect(config.runsApi && config.runsWorker).toBe(true);
  expect(config.limits).toMatchObject({ maxBatchSize: 50000, syncMaxImages: 20, maxLanguages: 10 });
  expect(config.webhooks).toMatchObject({ timeoutMs: 30000, maxRetries: 5, retryBaseMs: 30000 });
  expect(config.worker.pollIntervalMs).toBe(30000);
  expect(config.openai).toMatchObject({
    visionModel: 'o4-mini',
    translationModel: 'gpt-4.1-mini',
    maxOutputTokens: 4000,
    reasoningMaxOutputTokens: 25_000,
    imageDetail: 'auto',
    temperature: 0.1,
  });
  expect(config.network.allowPrivateNetworks).toBe(false);
});

test('every invalid value is reported at once, secrets are not echoed', () => {
  const problems = problemsOf({
    PORT: 'abc',
    APP_ROLE: 'boss',
    SHARED_KEY: 'too-short-secret',
    MAX_BATCH_SIZE: '75000',
    WEBHOOK_TIMEOUT: '-1',
    LOG_LEVEL: 'loud',
    RUN_MIGRATIONS: 'maybe',
    DATABASE_URL: 'mysql://x',
  });
  const joined = problems.join('\n');
  for (const name of ['PORT', 'APP_ROLE', 'SHARED_KEY', 'MAX_BATCH_SIZE', 'WEBHOOK_TIMEOUT', 'LOG_LEVEL', 'RUN_MIGRATIONS']) {
    expect(joined).toContain(name);
  }
  expect(joined).not.toContain('too-short-secret');
  expect(new ConfigError(problems).message).toMatch(/^Invalid configuration:\n {2}- /);
});

test('production requires SHARED_KEY, DATABASE_URL and OPENAI_API_KEY', () => {
  const problems = problemsOf({ NODE_ENV: 'production' }).join('\n');
  expect(problems).toMatch(/SHARED_KEY must be at least 32 characters/);
  expect(problems).toMatch(/DATABASE_URL must be a postgres/);
  expect(problems).toMatch(/OPENAI_API_KEY is required when NODE_ENV=production/);
});

test('the role is explicit: only api, worker or all (reference 000)', () => {
  expect(parseEnvironment({ APP_ROLE: 'WORKER' }).APP_ROLE).toBe('worker');
  const api = new AppConfig(parseEnvironment({ APP_ROLE: 'api' }), runtime);
  expect([api.runsApi, api.runsWorker]).toEqual([true, false]);
  const worker = new AppConfig(parseEnvironment({ APP_ROLE: 'worker' }), runtime);
  expect([worker.runsApi, worker.runsWorker]).toEqual([false, true]);
  expect(problemsOf({ APP_ROLE: 'gunicorn' }).join()).toContain('APP_ROLE');
});

test('private networks are allowed by default only offline or in tests', () => {
  expect(new AppConfig(parseEnvironment({}), { ...runtime, offline: true }).network.allowPrivateNetworks).toBe(true);
  expect(new AppConfig(parseEnvironment({ NODE_ENV: 'test' }), runtime).network.allowPrivateNetworks).toBe(true);
  expect(
    new AppConfig(parseEnvironment({ ALLOW_PRIVATE_NETWORKS: 'false' }), { ...runtime, offline: true }).network.allowPrivateNetworks,
  ).toBe(false);
});

test('offline mode ticks every 2 s unless WORKER_POLL_INTERVAL is set; unknown variables are ignored', () => {
  const env = parseEnvironment({ PATH: '/usr/bin', SOMETHING_ELSE: 'x' });
  expect(env).not.toHaveProperty('PATH');
  expect(new AppConfig(env, { ...runtime, offline: true }).worker.pollIntervalMs).toBe(2000);
  expect(new AppConfig(env, runtime).worker.pollIntervalMs).toBe(30000);
  expect(new AppConfig(parseEnvironment({ WORKER_POLL_INTERVAL: '5' }), { ...runtime, offline: true }).worker.pollIntervalMs).toBe(5000);
});

test('an empty variable counts as unset', () => {
  const env = parseEnvironment({ APP_ROLE: '', PORT: '', DATA_DIR: '', SHARED_KEY: '' });
  expect([env.APP_ROLE, env.PORT, env.DATA_DIR, env.SHARED_KEY]).toEqual(['all', 5000, '.data', undefined]);
});
