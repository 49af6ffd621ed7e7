/**
 * docker-compose.yml: parsed (YAML merge keys resolved as Compose does, `${VAR:?…}`/`${VAR:-…}` interpolated with
 * example values) and cross-checked — depends_on targets and conditions, variables the service reads and accepts,
 * the database URL against the postgres service, ports, healthcheck commands and paths, shutdown timing.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseEnvironment } from '../../src/config/environment.js';
import { defaultOf, knownVariables, managementRoutes, publicRoutes } from './support/app-facts.js';
import { renderKustomization, podSpec } from './support/kustomize.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const EXAMPLE_VALUES: Record<string, string> = {
  POSTGRES_PASSWORD: 'example-password',
  OPENAI_API_KEY: 'sk-example',
  SHARED_KEY: 'an-example-shared-key-of-at-least-32-characters',
  CLIENT_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
};

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (an unset required variable throws). */
function interpolate(source: string, values: Record<string, string>): string {
  return source.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_all, name: string, kind?: string, rest?: string) => {
    if (values[name] !== undefined && values[name] !== '') return values[name];
    if (kind === '?') throw new Error(`required variable ${name} is unset: ${rest}`);
    return kind === '-' ? (rest ?? '') : '';
  });
}

const compose = parse(interpolate(text, EXAMPLE_VALUES), { merge: true });
const services: Record<string, any> = compose.services;
const APP_SERVICES = ['migrate', 'api', 'worker'];

/** A healthcheck `test` of the form ["CMD", "node", "-e", "fetch('http://127.0.0.1:PORT/PATH')…"]. */
function fetchTarget(test: string[]): { port: number; path: string } {
  expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
  const url = /fetch\('(http:\/\/127\.0\.0\.1:([0-9]+)(\/[^']*))'\)/.exec(test[3]);
  if (!url) throw new Error(`not a fetch healthcheck: ${test[3]}`);
  return { port: Number(url[2]), path: url[3] };
}

describe('docker-compose.yml', () => {
  test('interpolation refuses to start without the secrets', () => {
    expect(() => interpolate(text, { ...EXAMPLE_VALUES, SHARED_KEY: '' })).toThrow('required variable SHARED_KEY');
    expect(() => interpolate(text, { ...EXAMPLE_VALUES, OPENAI_API_KEY: '' })).toThrow('required variable OPENAI_API_KEY');
    expect(() => interpolate(text, { ...EXAMPLE_VALUES, POSTGRES_PASSWORD: '' })).toThrow('required variable POSTGRES_PASSWORD');
  });

  test('PostgreSQL (official image, pinned version), a one-shot migration, the API and a worker', () => {
    expect(Object.keys(services)).toEqual(['postgres', 'migrate', 'api', 'worker']);
    expect(services.postgres.image).toMatch(/^postgres:[0-9]+\.[0-9]+(-[a-z]+)?$/);
    for (const name of APP_SERVICES)
      expect({ name, build: services[name].build, image: services[name].image }).toEqual({
        name,
        build: '.',
        image: 'generation-service:local',
      });
    expect(services.migrate.restart).toBe('no');
  });

  test('every depends_on names an existing service, healthy ones have a healthcheck, and the app waits for the migration', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, spec] of Object.entries<any>(service.depends_on ?? {})) {
        expect({ name, dependency, exists: dependency in services }).toEqual({ name, dependency, exists: true });
        if (spec.condition === 'service_healthy') expect(services[dependency].healthcheck?.test).toBeDefined();
      }
    }
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['api', 'worker']) {
      expect(services[name].depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    }
  });

  test('the postgres healthcheck asks pg_isready for the configured user and database, and data sits on a volume', () => {
    const pg = services.postgres;
    expect(pg.healthcheck.test).toEqual(['CMD', 'pg_isready', '-U', pg.environment.POSTGRES_USER, '-d', pg.environment.POSTGRES_DB]);
    const major = Number(/^postgres:([0-9]+)/.exec(pg.image)![1]);
    // From PostgreSQL 18 the image keeps data under /var/lib/postgresql/<major>/docker: mount the parent.
    expect(pg.volumes).toEqual([major >= 18 ? 'postgres-data:/var/lib/postgresql' : 'postgres-data:/var/lib/postgresql/data']);
    expect(Object.keys(compose.volumes)).toEqual(['postgres-data']);
  });

  test('app services set only variables the service reads, and the API and worker environments pass its validation', () => {
    const known = knownVariables();
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(services[name].environment).filter((v) => !known.has(v));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
    const roles: Record<string, string> = { api: 'api', worker: 'worker' };
    for (const [name, role] of Object.entries(roles)) {
      const env = parseEnvironment(Object.fromEntries(Object.entries<string>(services[name].environment).map(([k, v]) => [k, String(v)])));
      expect({ name, role: env.APP_ROLE, migrations: env.RUN_MIGRATIONS, nodeEnv: env.NODE_ENV }).toEqual({
        name,
        role,
        migrations: false,
        nodeEnv: 'production',
      });
    }
  });

  test('DATABASE_URL points at the postgres service with its user and database', () => {
    const pg = services.postgres.environment;
    for (const name of APP_SERVICES) {
      const url = new URL(services[name].environment.DATABASE_URL);
      expect({ host: url.hostname, port: url.port, user: url.username, password: url.password, db: url.pathname }).toEqual({
        host: 'postgres',
        port: '5432',
        user: pg.POSTGRES_USER,
        password: pg.POSTGRES_PASSWORD,
        db: `/${pg.POSTGRES_DB}`,
      });
    }
  });

  test('the migration runs the same command as the Kubernetes Job', () => {
    const job = renderKustomization(join(ROOT, 'deploy/kubernetes/base')).find((o) => o.kind === 'Job')!;
    expect(services.migrate.command).toEqual(podSpec(job)!.containers[0].command);
    expect(services.migrate.healthcheck).toEqual({ disable: true });
  });

  test('ports: the API on PORT publicly, the management port on loopback only; the worker publishes nothing, so it scales', () => {
    const port = Number(defaultOf('PORT'));
    const management = Number(defaultOf('MANAGEMENT_PORT'));
    expect(Number(services.api.environment.PORT)).toBe(port);
    expect(services.api.ports).toEqual([`${port}:${port}`, `127.0.0.1:${management}:${management}`]);
    expect(services.worker.ports).toBeUndefined();
    expect(services.worker.container_name).toBeUndefined();
    for (const name of APP_SERVICES) expect(Number(services[name].environment.MANAGEMENT_PORT)).toBe(management);
  });

  test('healthchecks: exec-form node fetches (no curl in the slim image) of readiness routes the service serves on that port', async () => {
    const api = fetchTarget(services.api.healthcheck.test);
    expect(api).toEqual({ port: Number(services.api.environment.PORT), path: '/health/ready' });
    const worker = fetchTarget(services.worker.healthcheck.test);
    expect(worker).toEqual({ port: Number(services.worker.environment.MANAGEMENT_PORT), path: '/health/ready' });
    expect((await publicRoutes()).has(api.path)).toBe(true);
    expect((await managementRoutes()).has(worker.path)).toBe(true);
  });

  test('shutdown grace, read-only root with DATA_DIR on the /tmp tmpfs, no capabilities, no privilege escalation', () => {
    for (const name of APP_SERVICES) {
      const service = services[name];
      const grace = Number(service.environment.SHUTDOWN_GRACE_SECONDS);
      expect(grace).toBe(defaultOf('SHUTDOWN_GRACE_SECONDS'));
      expect(Number(/^([0-9]+)s$/.exec(service.stop_grace_period)![1])).toBeGreaterThan(grace);
      expect(service.read_only).toBe(true);
      expect(service.tmpfs).toEqual(['/tmp']);
      expect(service.environment.DATA_DIR.startsWith('/tmp/')).toBe(true);
      expect(service.cap_drop).toEqual(['ALL']);
      expect(service.security_opt).toEqual(['no-new-privileges:true']);
    }
  });
});
