import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TEST_SHARED_KEY } from '../support/app.js';
import { pipelineEnv } from '../pipeline/pipeline-support.js';
import { waitFor } from '../support/wait.js';

/**
 * The real entry point (`dist/src/main.js`, built by `npm test`'s pretest)
 * as a child process: signals, exit codes and kill -9 are real. It runs
 * against the test's database and emulator (loopback), with the worker role.
 */
export const MAIN = new URL('../../dist/src/main.js', import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Its worker instance id (from the start-up line), once started. */
  instanceId: string;
}

export function spawnMain(env: Record<string, string>, options: { detached?: boolean } = {}): Omit<WorkerProcess, 'instanceId'> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does it first)`);
  const base = { ...process.env };
  for (const key of ['DATABASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'SHARED_KEY', 'NODE_OPTIONS', 'NODE_ENV', 'APP_ROLE', 'LOG_JSON'])
    delete base[key];
  const child = spawn(process.execPath, [MAIN], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, pid: child.pid!, output: () => output, exited };
}

/** A worker process on the test's database and emulator; resolves once its tick loop started. */
export async function startWorkerProcess(args: {
  databaseUrl: string;
  openaiBaseUrl: string;
  env?: Record<string, string>;
}): Promise<WorkerProcess> {
  const started = spawnMain({
    ...pipelineEnv(),
    NODE_ENV: 'test',
    PORT: '0',
    APP_ROLE: 'worker',
    DATABASE_URL: args.databaseUrl,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: args.openaiBaseUrl,
    SHARED_KEY: TEST_SHARED_KEY,
    RUN_MIGRATIONS: 'false',
    LOG_LEVEL: 'INFO',
    ...args.env,
  });
  let gone = false;
  void started.exited.then(() => (gone = true));
  const instanceId = await waitFor(
    async () => {
      if (gone) throw new Error(`the worker exited during start-up:\n${started.output()}`);
      return /worker (\S+) started: tick every/.exec(started.output())?.[1];
    },
    { timeoutMs: 60_000, what: 'the worker process to start' },
  );
  return { ...started, instanceId };
}

/** Lines that report an error (Nest's ERROR level, in text or JSON form, or an uncaught stack). */
export function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => /\bERROR\b|"level":"error"|"level":"fatal"|^\s+at |Error:/.test(line));
}
