/**
 * deploy/kubernetes: the base and the production overlay are rendered (test/deploy/support/kustomize.ts — the
 * subset of kustomize they use), validated against the Kubernetes schemas (kubernetes-models, plus an
 * unknown-field check by the TypeScript compiler), and cross-checked against the application: variable names and
 * defaults (src/config/environment.ts), probe and scrape paths (the controllers' routes), ports, selectors,
 * Secret references, shutdown timing and the pod security settings.
 */
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnvironment } from '../../src/config/environment.js';
import {
  kustomizationDirs,
  podSpec,
  readKustomization,
  readYamlDocuments,
  renderKustomization,
  applyJsonPatch,
  type K8sObject,
} from './support/kustomize.js';
import { schemaErrors, unknownFieldErrors } from './support/schemas.js';
import { defaultOf, knownVariables, managementRoutes, publicRoutes } from './support/app-facts.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = join(ROOT, 'deploy/kubernetes');
const BASE = join(K8S, 'base');
const PRODUCTION = join(K8S, 'overlays/production');
const SECRET_EXAMPLE = join(K8S, 'secret.example.yaml');
const SECRET_VARIABLES = ['DATABASE_URL', 'OPENAI_API_KEY', 'SHARED_KEY', 'CLIENT_SECRETS_KEY'];

const base = renderKustomization(BASE);
const production = renderKustomization(PRODUCTION);
const ids = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered`);
  return found as any;
};
const deployments = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment') as any[];
const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job') as any[];
const containerOf = (objects: K8sObject[], deployment: string) => podSpec(find(objects, 'Deployment', deployment))!.containers[0];
const secretExample = readYamlDocuments(SECRET_EXAMPLE)[0] as any;
const configMap = find(production, 'ConfigMap', 'generation-service-config');

/** The environment a container starts with: its ConfigMaps (envFrom) then its env, secrets from the example. */
function containerEnvironment(objects: K8sObject[], container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) Object.assign(env, find(objects, 'ConfigMap', source.configMapRef.name).data);
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    env[variable.name] = ref ? secretExample.stringData[ref.key] : variable.value;
  }
  return env;
}

function quantity(value: string | number): number {
  const match = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(String(value));
  if (!match) throw new Error(`unparseable quantity ${value}`);
  const units: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(match[1]) * (match[2] ? units[match[2]] : 1);
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('rendering (kustomize subset)', () => {
  test('the base renders exactly the service account, config, migration Job, API (Deployment, Service, HPA, PDB) and worker (Deployment, PDB)', () => {
    expect(ids(base)).toEqual([
      'ServiceAccount/generation-service',
      'ConfigMap/generation-service-config',
      'Job/generation-service-migrate',
      'Deployment/generation-service-api',
      'Service/generation-service-api',
      'HorizontalPodAutoscaler/generation-service-api',
      'PodDisruptionBudget/generation-service-api',
      'Deployment/generation-service-worker',
      'PodDisruptionBudget/generation-service-worker',
    ]);
  });

  test('the production overlay adds the namespace and puts everything else in it', () => {
    expect(ids(production)).toEqual(['Namespace/generation-service', ...ids(base)]);
    expect(production[0].metadata.namespace).toBeUndefined();
    for (const object of production.slice(1)) expect(object.metadata.namespace).toBe('generation-service');
  });

  test('the overlay sets the image on every container, adds its labels without touching selectors, and applies its patches', () => {
    for (const object of workloads(production)) {
      for (const container of podSpec(object)!.containers) expect(container.image).toBe('registry.example.com/generation-service:2.0.0');
      expect(object.spec.template.metadata.labels).toMatchObject({
        environment: 'production',
        'app.kubernetes.io/part-of': 'generation-service',
      });
    }
    for (const object of production) expect(object.metadata.labels).toMatchObject({ environment: 'production' });
    for (const deployment of deployments(production))
      expect(Object.keys(deployment.spec.selector.matchLabels).sort()).toEqual(['app.kubernetes.io/component', 'app.kubernetes.io/name']);
    expect(find(production, 'HorizontalPodAutoscaler', 'generation-service-api').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(find(base, 'HorizontalPodAutoscaler', 'generation-service-api').spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(find(production, 'Deployment', 'generation-service-worker').spec.replicas).toBe(3);
    expect(containerOf(production, 'generation-service-worker').resources.limits.memory).toBe('3Gi');
    expect(containerOf(base, 'generation-service-worker').resources.limits.memory).toBe('2Gi');
  });

  test('the renderer refuses what it does not implement, and patches that match nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-kustomize-'));
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a/kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: x-\n');
    expect(() => renderKustomization(join(dir, 'a'))).toThrow('unsupported field(s) namePrefix');
    mkdirSync(join(dir, 'b'));
    writeFileSync(
      join(dir, 'b/kustomization.yaml'),
      `kind: Kustomization\nresources: [${join(BASE)}]\npatches:\n  - target: {kind: Deployment, name: nope}\n    patch: '[{"op": "remove", "path": "/spec"}]'\n`,
    );
    expect(() => renderKustomization(join(dir, 'b'))).toThrow('matches no resource');
    const doc = { a: [1, 2], b: { 'x/y': 1 } };
    applyJsonPatch(doc, { op: 'add', path: '/a/-', value: 3 });
    applyJsonPatch(doc, { op: 'replace', path: '/b/x~1y', value: 2 });
    applyJsonPatch(doc, { op: 'remove', path: '/a/0' });
    expect(doc).toEqual({ a: [2, 3], b: { 'x/y': 2 } });
    expect(() => applyJsonPatch(doc, { op: 'replace', path: '/c', value: 1 })).toThrow('nothing to replace');
  });
});

describe('Kubernetes schemas', () => {
  test.each([
    ['base', base],
    ['production', production],
  ])('every object of the %s rendering is valid', (_name, objects) => {
    expect(schemaErrors(objects)).toEqual([]);
  });

  test('no object has an unknown or mistyped field (TypeScript excess-property check on every object)', () => {
    expect(unknownFieldErrors([...production, secretExample])).toEqual([]);
  });

  test('the checks are real: a misspelt field and a string port are reported', () => {
    const api = find(production, 'Deployment', 'generation-service-api');
    const misspelt = structuredClone(api);
    misspelt.spec.template.spec.containers[0].livenesProbe = misspelt.spec.template.spec.containers[0].livenessProbe;
    expect(schemaErrors([misspelt])).toEqual([]); // the OpenAPI schemas allow unknown fields…
    expect(unknownFieldErrors([misspelt])).toEqual([
      expect.stringMatching(
        /^Deployment\/generation-service-api: Object literal may only specify known properties, and '"livenesProbe"' does not exist in type 'IContainer'/,
      ),
    ]);
    const stringPort = structuredClone(api);
    stringPort.spec.template.spec.containers[0].ports[0].containerPort = '5000';
    expect(schemaErrors([stringPort])).toEqual([expect.stringContaining('containerPort must be integer')]);
    expect(unknownFieldErrors([stringPort])).toEqual([expect.stringContaining("Type 'string' is not assignable to type 'number'")]);
  });
});

describe('cross-references with the application', () => {
  test('every variable set by a manifest is one the service reads (src/config/environment.ts)', () => {
    const known = knownVariables();
    const used = new Set<string>(Object.keys(configMap.data));
    for (const workload of workloads(production))
      for (const container of podSpec(workload)!.containers) for (const v of container.env ?? []) used.add(v.name);
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
    expect([...used]).toEqual(
      expect.arrayContaining(['APP_ROLE', 'RUN_MIGRATIONS', 'PORT', 'MANAGEMENT_PORT', 'SHUTDOWN_GRACE_SECONDS', ...SECRET_VARIABLES]),
    );
  });

  test('the ports and the grace the manifests are sized for are the service defaults', () => {
    expect({ port: defaultOf('PORT'), management: defaultOf('MANAGEMENT_PORT'), grace: defaultOf('SHUTDOWN_GRACE_SECONDS') }).toEqual({
      port: 5000,
      management: 9464,
      grace: 20,
    });
  });

  test("each Deployment container environment passes the service's own validation, with its role and RUN_MIGRATIONS=false", () => {
    const roles: Record<string, string> = { 'generation-service-api': 'api', 'generation-service-worker': 'worker' };
    for (const deployment of deployments(production)) {
      const env = parseEnvironment(containerEnvironment(production, podSpec(deployment)!.containers[0]));
      expect({ name: deployment.metadata.name, role: env.APP_ROLE, migrations: env.RUN_MIGRATIONS, nodeEnv: env.NODE_ENV }).toEqual({
        name: deployment.metadata.name,
        role: roles[deployment.metadata.name],
        migrations: false,
        nodeEnv: 'production',
      });
    }
    expect(Object.keys(roles).sort()).toEqual(
      deployments(production)
        .map((d) => d.metadata.name)
        .sort(),
    );
  });

  test('container ports match PORT and MANAGEMENT_PORT (defaults and the values set)', () => {
    const api = containerOf(production, 'generation-service-api');
    const worker = containerOf(production, 'generation-service-worker');
    const port = (container: any, name: string) => container.ports.find((p: any) => p.name === name)?.containerPort;
    const env = (container: any) => containerEnvironment(production, container);
    expect(port(api, 'http')).toBe(defaultOf('PORT'));
    expect(port(api, 'http')).toBe(Number(env(api).PORT));
    for (const container of [api, worker]) {
      expect(port(container, 'management')).toBe(defaultOf('MANAGEMENT_PORT'));
      expect(port(container, 'management')).toBe(Number(env(container).MANAGEMENT_PORT));
    }
    expect(worker.ports.map((p: any) => p.name)).toEqual(['management']);
  });

  test("probes hit routes the service serves on the probed port: liveness /health/live, readiness /health/ready, a startup probe; the worker's on the management port", async () => {
    const routesOn: Record<string, Set<string>> = { http: await publicRoutes(), management: await managementRoutes() };
    expect([...routesOn.http]).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
    expect([...routesOn.management]).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
    const expectedPort: Record<string, string> = { 'generation-service-api': 'http', 'generation-service-worker': 'management' };
    for (const deployment of deployments(production)) {
      const container = podSpec(deployment)!.containers[0];
      const portNames = container.ports.map((p: any) => p.name);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const get = container[probe]?.httpGet;
        expect({ probe, path: routesOn[get?.port]?.has(get?.path), port: portNames.includes(get?.port) }).toEqual({
          probe,
          path: true,
          port: true,
        });
        expect(get.port).toBe(expectedPort[deployment.metadata.name]);
      }
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.startupProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      // A slow start (cold image, busy node) gets at least 30 s before liveness takes over.
      expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(30);
      // Readiness may wait for the database ping (1.5 s) and the migrations check (1.5 s).
      expect(container.readinessProbe.timeoutSeconds).toBeGreaterThanOrEqual(3);
    }
  });

  test('Prometheus scrapes /metrics on the management port of every Deployment', async () => {
    const routes = await managementRoutes();
    for (const deployment of deployments(production)) {
      const annotations = deployment.spec.template.metadata.annotations;
      const container = podSpec(deployment)!.containers[0];
      const management = container.ports.find((p: any) => p.name === 'management').containerPort;
      expect(annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(management),
        'prometheus.io/path': '/metrics',
      });
      expect(routes.has(annotations['prometheus.io/path'])).toBe(true);
    }
  });

  test('the Service selects the API pods only and targets their http port; the management port is not exposed', () => {
    const service = find(production, 'Service', 'generation-service-api');
    const api = find(production, 'Deployment', 'generation-service-api');
    const worker = find(production, 'Deployment', 'generation-service-worker');
    expect(matches(service.spec.selector, api.spec.template.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, worker.spec.template.metadata.labels)).toBe(false);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(podSpec(api)!.containers[0].ports.find((p: any) => p.name === 'http').containerPort).toBe(5000);
  });

  test('Deployment selectors match their pod labels; each PDB selects exactly one Deployment; the HPA targets the API, which sets no replicas', () => {
    for (const deployment of deployments(production))
      expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    const pdbs = production.filter((o) => o.kind === 'PodDisruptionBudget') as any[];
    expect(pdbs).toHaveLength(2);
    const covered = pdbs.map((pdb) =>
      deployments(production)
        .filter((d) => matches(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels))
        .map((d) => d.metadata.name),
    );
    expect(covered).toEqual([['generation-service-api'], ['generation-service-worker']]);
    const hpa = find(production, 'HorizontalPodAutoscaler', 'generation-service-api');
    const target = find(production, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(target.apiVersion).toBe(hpa.spec.scaleTargetRef.apiVersion);
    expect(target.spec.replicas).toBeUndefined();
    // A CPU utilisation target needs CPU requests on every container of the target.
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    for (const container of podSpec(target)!.containers) expect(container.resources.requests.cpu).toBeDefined();
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2); // so the PDB (maxUnavailable 1) never blocks all traffic
  });

  test('the migration Job runs the built migrate script once, with only DATABASE_URL from the Secret', () => {
    const job = find(production, 'Job', 'generation-service-migrate');
    const container = podSpec(job)!.containers[0];
    expect(container.command).toEqual(['node', 'dist/src/database/migrate.js']);
    expect(existsSync(join(ROOT, 'dist/src/database/migrate.js'))).toBe(true); // built by `pretest`
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(container.env.map((v: any) => v.name)).toEqual(['DATABASE_URL']);
    expect(container.image).toBe(containerOf(production, 'generation-service-api').image);
  });

  test('secrets are referenced from the Secret the example documents, never inlined, and the example is outside every kustomization', () => {
    expect(secretExample).toMatchObject({ kind: 'Secret', metadata: { name: 'generation-service-secrets' } });
    expect(Object.keys(secretExample.stringData).sort()).toEqual([...SECRET_VARIABLES].sort());
    expect(production.filter((o) => o.kind === 'Secret')).toEqual([]);
    const refs: { variable: string; name: string; key: string }[] = [];
    for (const workload of workloads(production)) {
      for (const container of podSpec(workload)!.containers) {
        for (const variable of container.env ?? []) {
          if (SECRET_VARIABLES.includes(variable.name))
            expect({ variable: variable.name, inline: variable.value }).toEqual({ variable: variable.name, inline: undefined });
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref) refs.push({ variable: variable.name, name: ref.name, key: ref.key });
        }
      }
    }
    expect(refs.length).toBe(9); // API 4, worker 4, migration 1
    for (const ref of refs)
      expect(ref).toEqual({
        variable: ref.key,
        name: secretExample.metadata.name,
        key: expect.stringMatching(new RegExp(`^(${Object.keys(secretExample.stringData).join('|')})$`)),
      });
    for (const name of SECRET_VARIABLES) expect(Object.keys(configMap.data)).not.toContain(name);
    for (const dir of kustomizationDirs(K8S)) {
      for (const resource of (readKustomization(dir).resources as string[]) ?? []) expect(resolve(dir, resource)).not.toBe(SECRET_EXAMPLE);
    }
    expect(relative(K8S, SECRET_EXAMPLE)).toBe('secret.example.yaml');
  });

  test('terminationGracePeriodSeconds exceeds SHUTDOWN_GRACE_SECONDS plus the preStop sleep', () => {
    const grace = Number(configMap.data.SHUTDOWN_GRACE_SECONDS);
    expect(grace).toBe(defaultOf('SHUTDOWN_GRACE_SECONDS'));
    const budget: Record<string, { total: number; preStop: number }> = {};
    for (const deployment of deployments(production)) {
      const container = podSpec(deployment)!.containers[0];
      const command = container.lifecycle?.preStop?.exec?.command;
      if (command) expect(command).toEqual(['sleep', expect.stringMatching(/^[0-9]+$/)]);
      const preStop = command ? Number(command[1]) : 0;
      budget[deployment.metadata.name] = { total: podSpec(deployment)!.terminationGracePeriodSeconds, preStop };
      expect(podSpec(deployment)!.terminationGracePeriodSeconds).toBeGreaterThan(grace + preStop);
    }
    // The API pauses while its endpoint leaves the Service; the worker has no Service and takes SIGTERM at once.
    expect(budget).toEqual({ 'generation-service-api': { total: 30, preStop: 5 }, 'generation-service-worker': { total: 30, preStop: 0 } });
  });

  test('the production namespace enforces the restricted Pod Security Standard the pods are written for', () => {
    expect(find(production, 'Namespace', 'generation-service').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test('pods run non-root with a read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp, no service-account token', () => {
    for (const workload of workloads(production)) {
      const pod = podSpec(workload)!;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      for (const container of pod.containers) {
        expect(container.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  test('with a read-only root, /tmp (os.tmpdir) and DATA_DIR (created at start) are on an emptyDir', () => {
    for (const workload of workloads(production)) {
      const pod = podSpec(workload)!;
      const emptyDirs = new Set(pod.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name));
      for (const container of pod.containers) {
        const writable = container.volumeMounts.filter((m: any) => emptyDirs.has(m.name) && !m.readOnly).map((m: any) => m.mountPath);
        expect(writable).toContain('/tmp');
        const dataDir = containerEnvironment(production, container).DATA_DIR ?? String(defaultOf('DATA_DIR'));
        expect({
          container: container.name,
          dataDir,
          writable: writable.some((path: string) => dataDir === path || dataDir.startsWith(path + '/')),
        }).toEqual({ container: container.name, dataDir, writable: true });
      }
    }
  });

  test('every container has CPU and memory requests, a memory limit, and requests within limits', () => {
    for (const workload of workloads(production)) {
      for (const container of podSpec(workload)!.containers) {
        const { requests, limits } = container.resources;
        expect(requests).toEqual({ cpu: expect.anything(), memory: expect.anything() });
        expect(limits.memory).toBeDefined();
        expect(quantity(requests.memory)).toBeLessThanOrEqual(quantity(limits.memory));
        if (limits.cpu) expect(quantity(requests.cpu)).toBeLessThanOrEqual(quantity(limits.cpu));
      }
    }
  });

  test('the production image is pinned to a version, not latest', () => {
    const images = new Set(workloads(production).flatMap((w) => podSpec(w)!.containers.map((c: any) => c.image)));
    expect([...images]).toEqual(['registry.example.com/generation-service:2.0.0']);
    const overlay = readKustomization(PRODUCTION) as any;
    expect(overlay.images[0].newTag).not.toMatch(/^(latest)?$/);
  });
});
