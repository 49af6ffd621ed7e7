/**
 * The Dockerfile and .dockerignore, linted without a container engine: the Dockerfile is split into instructions
 * (continuation lines joined, comments dropped, stages tracked) and checked for a pinned base image, a non-root
 * user, production-only dependencies, HEALTHCHECK/STOPSIGNAL/EXPOSE that agree with the service, and no ADD; the
 * .dockerignore patterns are matched (Docker's rules: `*` within one path segment, a matched folder excludes its
 * contents) against what must and must not reach the build context.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultOf, knownVariables, publicRoutes } from './support/app-facts.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Instruction {
  keyword: string;
  args: string;
  stage: string;
}

function parseDockerfile(text: string): { instructions: Instruction[]; stages: string[]; args: Record<string, string> } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (current !== '' && line.trim().startsWith('#')) continue; // comments inside a continued instruction
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  if (current) throw new Error('Dockerfile ends with a line continuation');
  const instructions: Instruction[] = [];
  const stages: string[] = [];
  const args: Record<string, string> = {};
  let stage = '(global)';
  for (const line of logical) {
    const [, keyword, rest] = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(line) ?? [];
    if (!keyword) throw new Error(`unparseable Dockerfile line: ${line}`);
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const as = /\sAS\s+([a-z0-9_-]+)$/i.exec(rest);
      stage = as ? as[1] : `stage${stages.length}`;
      stages.push(stage);
    }
    if (upper === 'ARG' && stage === '(global)') {
      const [name, value] = rest.split('=');
      args[name.trim()] = value?.trim();
    }
    instructions.push({ keyword: upper, args: rest.trim(), stage });
  }
  return { instructions, stages, args };
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const { instructions, stages } = dockerfile;
const finalStage = stages[stages.length - 1];
const inStage = (stage: string, keyword: string) => instructions.filter((i) => i.stage === stage && i.keyword === keyword);
const resolveArgs = (value: string) => value.replace(/\$\{([A-Z_]+)\}/g, (_all, name: string) => dockerfile.args[name] ?? `\${${name}}`);

/** .dockerignore patterns (comments and blanks dropped); `!` exceptions are not used and refused. */
const ignorePatterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

function ignored(path: string): boolean {
  const parts = path.split('/');
  return ignorePatterns.some((pattern) => {
    if (pattern.startsWith('!')) throw new Error('.dockerignore exceptions are not supported by this check');
    const regex = new RegExp(
      '^' +
        pattern
          .replace(/^\/+|\/+$/g, '')
          .split('/')
          .map((seg) =>
            seg === '**'
              ? '.*'
              : seg
                  .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                  .replace(/\*/g, '[^/]*')
                  .replace(/\?/g, '[^/]'),
          )
          .join('/') +
        '$',
    );
    // A pattern matching a folder excludes everything below it.
    return parts.some((_p, i) => regex.test(parts.slice(0, i + 1).join('/')));
  });
}

/** Sources of COPY instructions that read the build context (not --from=stage). */
const contextCopies = instructions
  .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
  .flatMap((i) => {
    const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    return words.slice(0, -1);
  });

describe('Dockerfile', () => {
  test('three stages: build, production dependencies, runtime', () => {
    expect(stages).toEqual(['build', 'deps', 'runtime']);
  });

  test('every stage starts from the Node base image pinned by exact version and digest, of a Node release the project supports', () => {
    const image = dockerfile.args.NODE_IMAGE;
    expect(image).toMatch(/^node:[0-9]+\.[0-9]+\.[0-9]+-bookworm-slim@sha256:[0-9a-f]{64}$/);
    for (const from of instructions.filter((i) => i.keyword === 'FROM')) expect(resolveArgs(from.args.split(/\s+/)[0])).toBe(image);
    const major = Number(/^node:([0-9]+)\./.exec(image)![1]);
    const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
    expect(major).toBeGreaterThanOrEqual(Number(/>=\s*([0-9]+)/.exec(engines)![1]));
    expect(major % 2).toBe(0); // an LTS line
  });

  test('the runtime runs as a non-root numeric user', () => {
    const users = inStage(finalStage, 'USER');
    expect(users).toHaveLength(1);
    const [user, group] = users[0].args.split(':');
    expect(Number(user)).toBeGreaterThan(0);
    expect(Number(group)).toBeGreaterThan(0);
  });

  test('the runtime gets node_modules only from a stage that installed production dependencies (npm ci --omit=dev)', () => {
    const copies = inStage(finalStage, 'COPY').filter((i) => /\/node_modules\b/.test(i.args));
    expect(copies).toHaveLength(1);
    const from = /--from=([a-z0-9_-]+)/.exec(copies[0].args)![1];
    const installs = inStage(from, 'RUN').map((i) => i.args);
    expect(installs).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    expect(inStage(finalStage, 'RUN')).toEqual([]); // nothing installed or built in the final image
  });

  test('HEALTHCHECK: exec-form node fetch (no curl in the slim image) of a route the service serves on PORT', async () => {
    const checks = inStage(finalStage, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const [, options, command] = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(checks[0].args)!;
    expect(options).toMatch(/--start-period=\d+s/);
    const argv = JSON.parse(command) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    const path = /\+'(\/[^']*)'\)/.exec(argv[2])![1];
    expect((await publicRoutes()).has(path)).toBe(true);
    expect(argv[2]).toContain('process.env.PORT');
  });

  test('STOPSIGNAL SIGTERM, EXPOSE of PORT and MANAGEMENT_PORT, exec-form CMD of the built entry point', () => {
    expect(inStage(finalStage, 'STOPSIGNAL').map((i) => i.args)).toEqual(['SIGTERM']);
    expect(inStage(finalStage, 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number))).toEqual([
      defaultOf('PORT'),
      defaultOf('MANAGEMENT_PORT'),
    ]);
    const cmd = JSON.parse(inStage(finalStage, 'CMD')[0].args) as string[];
    expect(cmd).toEqual(['node', 'dist/src/main.js']);
    expect(existsSync(join(ROOT, cmd[1]))).toBe(true); // built by `pretest`
  });

  test('ENV sets only variables the service reads, with the defaults the manifests assume', () => {
    const env: Record<string, string> = {};
    for (const i of inStage(finalStage, 'ENV')) for (const [, k, v] of i.args.matchAll(/([A-Z_]+)=(\S+)/g)) env[k] = v;
    expect(Object.keys(env).filter((k) => !knownVariables().has(k))).toEqual([]);
    expect(Number(env.PORT)).toBe(defaultOf('PORT'));
    expect(Number(env.MANAGEMENT_PORT)).toBe(defaultOf('MANAGEMENT_PORT'));
    expect(env.DATA_DIR.startsWith('/tmp/')).toBe(true); // writable with a read-only root (tmpfs / emptyDir)
  });

  test('no ADD (so no remote URLs or auto-extracted archives); COPY only', () => {
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
    expect(contextCopies.length).toBeGreaterThan(0);
  });

  test('the build copies what tsconfig.build.json compiles for the image, and nothing in it imports bench/', () => {
    const include = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')).include as string[];
    expect(include.filter((dir) => dir !== 'bench' && !contextCopies.includes(dir))).toEqual([]);
    expect(contextCopies).not.toContain('bench');
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
    const importsBench = [...files(join(ROOT, 'src')), ...files(join(ROOT, 'migrations'))].filter(
      (f) => f.endsWith('.ts') && /from '(\.\.\/)+bench\//.test(readFileSync(f, 'utf8')),
    );
    expect(importsBench).toEqual([]);
  });
});

describe('.dockerignore', () => {
  test('excludes local data, dependencies, build output, tests and git', () => {
    for (const path of [
      '.data',
      '.data/postgres/PG_VERSION',
      'node_modules',
      'node_modules/pg/package.json',
      'dist',
      'dist/src/main.js',
      'test',
      'test/deploy/dockerfile.spec.ts',
      '.git',
      '.git/HEAD',
      '.env',
      'npm-debug.log',
    ]) {
      expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: true });
    }
  });

  test('keeps every file the Dockerfile copies from the build context', () => {
    for (const path of contextCopies) {
      expect(existsSync(join(ROOT, path))).toBe(true);
      expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: false });
    }
    for (const path of ['src/main.ts', 'migrations/index.ts', 'package-lock.json'])
      expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: false });
  });
});
