/**
 * The architecture's import rules (issue 10), enforced on src/ in every `npm test`. The rules live in
 * .dependency-cruiser.cjs (dependency-cruiser's format, so `npx depcruise src --config .dependency-cruiser.cjs`
 * reports the same); module-level cycles are computed here from the same cruise. Each rule is also run against
 * test/architecture/fixtures, a tree that breaks it on purpose: a rule that cannot fail proves nothing.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { edgesWithin, moduleCycles, type ModuleEdge } from './module-cycles.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'test/architecture/fixtures');
const load = createRequire(import.meta.url);
const config = load(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: IForbiddenRuleType[]; options: ICruiseOptions };

async function cruiseTree(baseDir: string): Promise<ICruiseResult> {
  const result = await cruise(
    ['src'],
    {
      ...config.options,
      validate: true,
      baseDir,
      tsConfig: { fileName: join(ROOT, 'tsconfig.json') },
      ruleSet: { forbidden: config.forbidden },
    },
    {},
    { tsConfig: extractTSConfig(join(ROOT, 'tsconfig.json')) },
  );
  return result.output as ICruiseResult;
}

/** The entity registry imports every module's entities by design (like app.module.ts imports every module). */
const REGISTRY = 'src/database/entities.ts';

const edges = (result: ICruiseResult): ModuleEdge[] =>
  result.modules
    .filter((module) => module.source !== REGISTRY)
    .flatMap((module) => module.dependencies.map((dependency) => ({ from: module.source, to: dependency.resolved })));

/** One violation as a reader wants it: from → to, and for reachability rules the path between. */
function describeViolation(violation: IViolation): string {
  const via = violation.via?.length ? `  (via ${violation.via.map((step) => step.name).join(' → ')})` : '';
  return `${violation.from} → ${violation.to}${via}`;
}

const violationsOf = (result: ICruiseResult, rule: string) =>
  result.summary.violations.filter((violation) => violation.rule.name === rule).map(describeViolation);

/** Fails with the rule's purpose and every offending import. */
function expectNone(rule: string, purpose: string | undefined, offences: string[]): void {
  if (offences.length === 0) return;
  throw new Error(`rule ${rule} broken ${offences.length} time(s): ${purpose ?? ''}\n  ${offences.join('\n  ')}`);
}

describe('dependency rules on src/ (.dependency-cruiser.cjs)', () => {
  let result: ICruiseResult;
  beforeAll(async () => {
    result = await cruiseTree(ROOT);
  });

  test('the cruise resolves every import of src/ (a rule over unresolved imports would pass vacuously)', () => {
    const unresolved = result.modules.flatMap((module) =>
      module.dependencies.filter((dependency) => dependency.couldNotResolve).map((dependency) => `${module.source} → ${dependency.module}`),
    );
    expect(unresolved).toEqual([]);
    expect(result.modules.filter((module) => module.source.startsWith('src/')).length).toBeGreaterThan(100);
  });

  for (const rule of config.forbidden) {
    test(`${rule.name}: ${rule.comment}`, () => {
      expectNone(rule.name!, rule.comment, violationsOf(result, rule.name!));
    });
  }

  test('no-cycles-between-modules: no folder under src/ depends on another that depends back on it', () => {
    const fileEdges = edges(result);
    const offences = moduleCycles(fileEdges).map(
      (component) =>
        `${component.join(' ↔ ')}:\n    ${edgesWithin(component, fileEdges)
          .map(({ from, to }) => `${from} → ${to}`)
          .join('\n    ')}`,
    );
    expectNone('no-cycles-between-modules', 'modules form a hierarchy', offences);
  });
});

describe('each rule detects what it forbids (test/architecture/fixtures breaks every rule once)', () => {
  let fixture: ICruiseResult;
  beforeAll(async () => {
    fixture = await cruiseTree(FIXTURES);
  });

  const expected: Record<string, unknown[]> = {
    'only-gateway-imports-openai': [expect.stringMatching(/^src\/batch-monitor\/monitor\.service\.ts → .*node_modules\/openai\//)],
    'emulator-stands-alone': ['src/emulator/server.ts → src/config/environment.ts'],
    'controllers-stay-thin': [
      'src/jobs/controllers/bad.controller.ts → src/jobs/job.repository.ts',
      expect.stringMatching(/^src\/jobs\/controllers\/bad\.controller\.ts → .*node_modules\/typeorm\//),
      'src/jobs/controllers/bad.controller.ts → src/openai/gateway.service.ts',
    ],
    'polling-routes-never-reach-gateway': [
      'src/jobs/controllers/job-polling.controller.ts → src/openai/gateway.service.ts  (via src/jobs/jobs.service.ts → src/batch-monitor/monitor.service.ts → src/openai/gateway.service.ts)',
    ],
    'entities-stay-in-their-module': ['src/batch-monitor/monitor.service.ts → src/jobs/entities/job.entity.ts'],
  };

  test('the fixture covers every rule of the configuration', () => {
    expect(Object.keys(expected).sort()).toEqual(config.forbidden.map((rule) => rule.name).sort());
  });

  for (const [rule, offences] of Object.entries(expected)) {
    test(`${rule} reports exactly the fixture's offences (and none of its allowed imports)`, () => {
      expect(violationsOf(fixture, rule).sort()).toEqual(expect.arrayContaining(offences));
      expect(violationsOf(fixture, rule)).toHaveLength(offences.length);
    });
  }

  test('no-cycles-between-modules finds a cycle of folders that has no cycle of files', () => {
    expect(moduleCycles(edges(fixture))).toEqual([
      ['alpha', 'beta'],
      ['batch-monitor', 'jobs'],
    ]);
  });

  test('no-cycles-between-modules on synthetic graphs: a three-module ring is one component, a chain is none', () => {
    const ring = [
      { from: 'src/a/x.ts', to: 'src/b/y.ts' },
      { from: 'src/b/y.ts', to: 'src/c/z.ts' },
      { from: 'src/c/z.ts', to: 'src/a/w.ts' },
      { from: 'src/main.ts', to: 'src/a/x.ts' },
    ];
    expect(moduleCycles(ring)).toEqual([['a', 'b', 'c']]);
    expect(moduleCycles(ring.slice(0, 2))).toEqual([]);
    expect(moduleCycles([{ from: 'src/a/x.ts', to: 'src/a/y.ts' }])).toEqual([]);
  });
});
