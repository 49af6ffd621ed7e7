/**
 * The architecture's import rules (issue 10), checked in `npm test` by test/architecture/dependency-rules.spec.ts;
 * alone: `npm run test:rules`, or `npx depcruise src --config .dependency-cruiser.cjs` for a report.
 * Module-level cycles (folders under src/) are checked by that spec from the same cruise: dependency-cruiser's own
 * `circular` rule sees file cycles only.
 */
module.exports = {
  forbidden: [
    {
      name: 'only-gateway-imports-openai',
      comment: 'Only the gateway (src/openai) talks to OpenAI; everything else asks the gateway.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/openai/' },
      to: { path: '(^|/)node_modules/openai/' },
    },
    {
      name: 'emulator-stands-alone',
      comment: 'The OpenAI emulator imports nothing of the service but the SSRF-safe HTTP client it shares (src/common/http).',
      severity: 'error',
      from: { path: '^src/emulator/' },
      to: { path: '^src/', pathNot: '^src/(emulator|common/http)/' },
    },
    {
      name: 'controllers-stay-thin',
      comment: 'A controller asks a service: never a repository, TypeORM (DataSource, EntityManager) or the OpenAI gateway.',
      severity: 'error',
      from: { path: '\\.controller\\.ts$' },
      to: { path: ['\\.repository\\.ts$', '(^|/)node_modules/(typeorm|@nestjs/typeorm)/', '^src/openai/'] },
    },
    {
      name: 'polling-routes-never-reach-gateway',
      comment: 'GET /jobs/:id/... and the jobs list answer from the database: nothing they load may reach the OpenAI gateway.',
      severity: 'error',
      from: { path: '^src/jobs/controllers/(job-polling|job-list)\\.controller\\.ts$' },
      to: { path: '^src/openai/', reachable: true },
    },
    {
      name: 'entities-stay-in-their-module',
      comment:
        'An entity is imported only inside its own module; src/database/entities.ts registers them all (migrations are outside src/).',
      severity: 'error',
      from: { path: '^(src/[^/]+)/', pathNot: '^src/database/entities\\.ts$' },
      to: { path: '\\.entity\\.ts$', pathNot: '^$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a controller that names a repository's type still depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Packages that publish only an "exports" map (structured-headers) resolve through it, as node does.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
