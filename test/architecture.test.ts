/*
 * The dependency rules of the workspace, checked on the source itself (docs: STYLE.md,
 * "Dependency direction"):
 *   - @tapit/protocol imports zod and its own files only: no `node:` module, no other package,
 *     so every side (and any JS runtime) can load it;
 *   - scheduler, agent and CLI import @tapit/protocol and never one another, by name or by a
 *     relative path into another package;
 *   - dockerode is imported in the agent only under src/drivers/docker/, behind the driver
 *     contract (test code is exempt: a test may look at the real engine);
 *   - every package a source file imports is declared in its package.json, at run time in
 *     `dependencies`, so a production install (`npm ci --omit=dev`, as in infra/) has it.
 * Imports are read with the TypeScript parser, so comments and strings never count, and
 * `import type`, `export … from`, `import()` and `require()` all do.
 * Test code is `*.test.ts` and anything under a `testing/` folder; it may also use the
 * package's devDependencies and the root's (vitest). The dashboard's browser code
 * (packages/scheduler/src/dashboard/client/) is bundled at build time and never loaded by Node:
 * it may use the scheduler's devDependencies (xterm.js), which the build has.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROTOCOL = '@tapit/protocol';
const APPS = ['@tapit/scheduler', '@tapit/agent', '@tapit/cli'];
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

interface Manifest {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
/** A package under packages/: its folder (repo-relative, `/`-separated) and manifest. */
interface Workspace {
  dir: string;
  manifest: Manifest;
}
interface SourceFile {
  /** Repo-relative, `/`-separated: `packages/agent/src/main.ts`. */
  path: string;
  text: string;
}
interface ImportRef {
  specifier: string;
  line: number;
  /** Erased at compile time (`import type`, `export type … from`, `import('x').T`). */
  typeOnly: boolean;
}
interface Tree {
  root: Manifest;
  workspaces: Workspace[];
  sources: SourceFile[];
}

// --- reading the tree --------------------------------------------------------------------------

const toPosix = (path: string) => path.split(sep).join('/');
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

function listSources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : listSources(path);
    return /\.(ts|mts|cts|tsx)$/.test(entry.name) ? [path] : [];
  });
}

/** Every package under `packages/` and every TypeScript file under its `src/`. */
function readTree(root: string): Tree {
  const packagesDir = join(root, 'packages');
  const workspaces = readdirSync(packagesDir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .filter((entry) => entry.isDirectory() && existsSync(join(packagesDir, entry.name, 'package.json')))
    .map((entry) => ({ dir: `packages/${entry.name}`, manifest: readJson<Manifest>(join(packagesDir, entry.name, 'package.json')) }));
  const sources = workspaces.flatMap((workspace) =>
    listSources(join(root, workspace.dir, 'src')).map((path) => ({ path: toPosix(relative(root, path)), text: readFileSync(path, 'utf8') })),
  );
  return { root: readJson<Manifest>(join(root, 'package.json')), workspaces, sources };
}

/** The module specifiers a file imports, found by the TypeScript parser. */
function importsOf(path: string, text: string): ImportRef[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const add = (literal: ts.Node, typeOnly: boolean) => {
    if (ts.isStringLiteralLike(literal)) {
      found.push({ specifier: literal.text, line: file.getLineAndCharacterOfPosition(literal.getStart()).line + 1, typeOnly });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // Under verbatimModuleSyntax only a whole `import type` is erased; `import { type X }` stays.
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

// --- the rules ---------------------------------------------------------------------------------

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]);
const packageNameOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const isTestCode = (path: string) => /\.test\.[cm]?tsx?$/.test(path) || /\/src\/(.*\/)?testing\//.test(path);
/** Code bundled at build time for the browser: its imports are the build's, not a production install's. */
const isBundledAtBuild = (path: string) => path.startsWith('packages/scheduler/src/dashboard/client/');
const declared = (manifest: Manifest, fields: readonly (typeof DEPENDENCY_FIELDS)[number][], name: string) =>
  fields.some((field) => manifest[field]?.[name] !== undefined);

/** One line per broken rule: `file:line imports 'x': why`. */
function importViolations(tree: Tree): string[] {
  const violations: string[] = [];
  for (const source of tree.sources) {
    const workspace = tree.workspaces.find((w) => source.path.startsWith(`${w.dir}/`));
    if (!workspace) continue;
    const own = workspace.manifest.name;
    const test = isTestCode(source.path);
    for (const ref of importsOf(source.path, source.text)) {
      const fail = (why: string) => violations.push(`${source.path}:${ref.line} imports '${ref.specifier}': ${why}`);
      const { specifier } = ref;

      if (specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(source.path), specifier));
        const into = tree.workspaces.find((w) => target === w.dir || target.startsWith(`${w.dir}/`));
        if (into !== workspace) {
          fail(into ? `reaches into ${into.manifest.name} by a relative path` : `leaves ${own} by a relative path`);
        } else if (own === PROTOCOL && !target.startsWith(`${workspace.dir}/src/`)) {
          fail(`${PROTOCOL} imports only its own src/ files`);
        }
        continue;
      }
      if (specifier.startsWith('#')) continue; // the package's own `imports` map

      if (isBuiltin(specifier)) {
        if (own === PROTOCOL) fail(`${PROTOCOL} must not import node: modules; it must load in any JavaScript runtime`);
        continue;
      }

      const name = packageNameOf(specifier);
      if (name === own) continue;
      if (own === PROTOCOL && name !== 'zod' && !(test && name === 'vitest')) {
        fail(`${PROTOCOL} depends on zod only`);
        continue;
      }
      if (APPS.includes(own) && APPS.includes(name)) {
        fail(`${own} must not import ${name}; they share only ${PROTOCOL}`);
        continue;
      }
      if (own === '@tapit/agent' && name === 'dockerode' && !test && !source.path.startsWith(`${workspace.dir}/src/drivers/docker/`)) {
        fail('dockerode belongs under src/drivers/docker/, behind the driver contract');
        continue;
      }
      const manifest = workspace.manifest;
      if (test || ref.typeOnly || isBundledAtBuild(source.path)) {
        const ok = declared(manifest, DEPENDENCY_FIELDS, name) || declared(manifest, DEPENDENCY_FIELDS, `@types/${name}`) || (test && declared(tree.root, DEPENDENCY_FIELDS, name));
        if (!ok) fail(`'${name}' is not declared in ${workspace.dir}/package.json`);
      } else if (!declared(manifest, ['dependencies', 'peerDependencies', 'optionalDependencies'], name)) {
        fail(`'${name}' is not in the dependencies of ${workspace.dir}/package.json, so a production install would lack it`);
      }
    }
  }
  return violations;
}

/** What the manifests must say about the same rules. */
function manifestViolations(tree: Tree): string[] {
  const violations: string[] = [];
  const protocol = tree.workspaces.find((w) => w.manifest.name === PROTOCOL);
  if (!protocol) return [`no workspace is named ${PROTOCOL}`];

  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
    const names = Object.keys(protocol.manifest[field] ?? {});
    const extra = names.filter((name) => name !== 'zod');
    if (extra.length > 0) violations.push(`${protocol.dir}/package.json ${field} has ${extra.join(', ')}: ${PROTOCOL} depends on zod only`);
  }
  if (protocol.manifest.dependencies?.zod === undefined) violations.push(`${protocol.dir}/package.json must depend on zod`);

  for (const { dir, manifest } of tree.workspaces) {
    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
        if (APPS.includes(manifest.name) && APPS.includes(name) && name !== manifest.name) {
          violations.push(`${dir}/package.json ${field} has ${name}: ${manifest.name} must not depend on another app`);
        }
        // A range the workspace's version does not satisfy would make npm fetch a registry copy.
        if (name === PROTOCOL && spec !== protocol.manifest.version) {
          violations.push(`${dir}/package.json ${field} has ${PROTOCOL}@${spec}, but the workspace is ${protocol.manifest.version}`);
        }
      }
    }
  }

  // One version of each shared dependency, so every package loads the same zod (and the same ws).
  const specs = new Map<string, Map<string, string[]>>();
  for (const { dir, manifest } of [{ dir: '.', manifest: tree.root }, ...tree.workspaces]) {
    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
        const bySpec = specs.get(name) ?? new Map<string, string[]>();
        bySpec.set(spec, [...(bySpec.get(spec) ?? []), dir]);
        specs.set(name, bySpec);
      }
    }
  }
  for (const [name, bySpec] of specs) {
    if (bySpec.size > 1 && name !== PROTOCOL) {
      const listed = [...bySpec].map(([spec, dirs]) => `${spec} in ${dirs.join(', ')}`).join('; ');
      violations.push(`${name} is declared with different versions: ${listed}`);
    }
  }
  return violations;
}

// --- the checks --------------------------------------------------------------------------------

describe('dependency rules of the workspace', () => {
  const tree = readTree(REPO_ROOT);

  it('finds the packages and their sources, so the rules below cannot pass on nothing', () => {
    const names = tree.workspaces.map((w) => w.manifest.name);
    expect(names).toEqual(expect.arrayContaining([PROTOCOL, ...APPS]));
    const protocolFiles = tree.sources.filter((s) => s.path.startsWith('packages/protocol/src/'));
    expect(protocolFiles.length).toBeGreaterThan(10);
    expect(protocolFiles.flatMap((s) => importsOf(s.path, s.text)).some((ref) => ref.specifier === 'zod')).toBe(true);
    for (const workspace of tree.workspaces) {
      if (existsSync(join(REPO_ROOT, workspace.dir, 'src'))) {
        expect(tree.sources.some((s) => s.path.startsWith(`${workspace.dir}/src/`)), `${workspace.dir}/src has no .ts file`).toBe(true);
      }
    }
  });

  it('every import in packages/*/src follows them', () => {
    expect(importViolations(tree)).toEqual([]);
  });

  it("the protocol's zod-free subpaths (headers, format) load only their own folder's files at run time: the CLI's early start avoids zod", () => {
    const zodFree = tree.sources.filter((s) => !isTestCode(s.path) && (s.path.startsWith('packages/protocol/src/format/') || s.path === 'packages/protocol/src/api/headers.ts'));
    expect(zodFree.length).toBeGreaterThan(3);
    const loaded = zodFree.flatMap((s) => importsOf(s.path, s.text).filter((ref) => !ref.typeOnly && !/^\.\/[a-z-]+\.js$/.test(ref.specifier)).map((ref) => `${s.path}:${ref.line} imports '${ref.specifier}'`));
    expect(loaded).toEqual([]);
  });

  it('every package.json agrees with them', () => {
    expect(manifestViolations(tree)).toEqual([]);
  });
});

describe('the rule checker itself', () => {
  const manifests: Record<string, Manifest> = {
    protocol: { name: PROTOCOL, version: '0.1.0', dependencies: { zod: '4.6.7' } },
    scheduler: { name: '@tapit/scheduler', dependencies: { [PROTOCOL]: '0.1.0', zod: '4.6.7', hono: '4.13.19' }, devDependencies: { '@types/pg': '^8' } },
    agent: { name: '@tapit/agent', dependencies: { [PROTOCOL]: '0.1.0', dockerode: '4.0.8' }, devDependencies: { '@types/dockerode': '4.0.2' } },
    cli: { name: '@tapit/cli', dependencies: { [PROTOCOL]: '0.1.0' } },
  };
  const root: Manifest = { name: 'tapit', devDependencies: { vitest: '4.1.12' } };
  const treeOf = (files: Record<string, string>, overrides: Record<string, Manifest> = {}): Tree => ({
    root,
    workspaces: Object.entries({ ...manifests, ...overrides }).map(([dir, manifest]) => ({ dir: `packages/${dir}`, manifest })),
    sources: Object.entries(files).map(([path, text]) => ({ path, text })),
  });

  it('accepts what the rules allow', () => {
    const tree = treeOf({
      'packages/protocol/src/api/tasks.ts': `import { z } from 'zod';\nimport { TaskId } from '../common/ids.js';\nexport * from './logs.js';`,
      'packages/protocol/src/api/tasks.test.ts': `import { it } from 'vitest';\nimport { Task } from './tasks.js';`,
      'packages/scheduler/src/app.ts': `import { Hono } from 'hono';\nimport { readFileSync } from 'node:fs';\nimport { Task } from '@tapit/protocol';`,
      'packages/scheduler/src/db/client.ts': `import type { Pool } from 'pg';\nconst v = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));`,
      'packages/agent/src/drivers/docker/docker-driver.ts': `import Docker from 'dockerode';`,
      'packages/agent/src/tasks/runner.test.ts': `import Docker from 'dockerode';\nimport { describe } from 'vitest';`,
      'packages/cli/src/lib/api.ts': `import { Task } from '@tapit/protocol';\n// import { x } from '@tapit/scheduler';\nconst s = "import('@tapit/agent')";`,
      'packages/scheduler/src/dashboard/client/lib/terminal.ts': `import { Terminal } from '@xterm/xterm';\nimport '@xterm/xterm/css/xterm.css';`,
    }, { scheduler: { ...manifests.scheduler!, devDependencies: { '@types/pg': '^8', '@xterm/xterm': '6.0.0' } } });
    expect(importViolations(tree)).toEqual([]);
    expect(manifestViolations(tree)).toEqual([]);
  });

  it('names the file, line and import of each broken rule', () => {
    const tree = treeOf({
      'packages/protocol/src/ids.ts': [
        `import { z } from 'zod';`,
        `import { randomBytes } from 'node:crypto';`,
        `import path from 'path';`,
        `import WebSocket from 'ws';`,
        `export { main } from '@tapit/scheduler';`,
        `import { it } from 'vitest';`,
        `import x from '../../scheduler/src/app.js';`,
      ].join('\n'),
      'packages/cli/src/commands/run.ts': [
        `import { Task } from '@tapit/protocol';`,
        `import type { AgentConfig } from '@tapit/agent';`,
        `const gateway = await import('@tapit/scheduler/dist/agents/gateway.js');`,
        `export * from '../../../agent/src/config.js';`,
        `const m = require('@tapit/scheduler');`,
        `import support from '../../../../test/support/env.js';`,
      ].join('\n'),
      'packages/agent/src/tasks/runner.ts': `import Docker from 'dockerode';`,
      'packages/agent/src/drivers/driver.ts': `\n\nimport type { ContainerInfo } from 'dockerode';`,
      'packages/scheduler/src/app.ts': `import leftPad from 'left-pad';\nimport { Pool } from 'pg';\nimport { describe } from 'vitest';`,
      'packages/scheduler/src/app.test.ts': `import leftPad from 'left-pad';`,
      'packages/scheduler/src/dashboard/client/entries/page.ts': `import leftPad from 'left-pad';`,
    });
    expect(importViolations(tree)).toEqual([
      `packages/protocol/src/ids.ts:2 imports 'node:crypto': ${PROTOCOL} must not import node: modules; it must load in any JavaScript runtime`,
      `packages/protocol/src/ids.ts:3 imports 'path': ${PROTOCOL} must not import node: modules; it must load in any JavaScript runtime`,
      `packages/protocol/src/ids.ts:4 imports 'ws': ${PROTOCOL} depends on zod only`,
      `packages/protocol/src/ids.ts:5 imports '@tapit/scheduler': ${PROTOCOL} depends on zod only`,
      `packages/protocol/src/ids.ts:6 imports 'vitest': ${PROTOCOL} depends on zod only`,
      `packages/protocol/src/ids.ts:7 imports '../../scheduler/src/app.js': reaches into @tapit/scheduler by a relative path`,
      `packages/cli/src/commands/run.ts:2 imports '@tapit/agent': @tapit/cli must not import @tapit/agent; they share only ${PROTOCOL}`,
      `packages/cli/src/commands/run.ts:3 imports '@tapit/scheduler/dist/agents/gateway.js': @tapit/cli must not import @tapit/scheduler; they share only ${PROTOCOL}`,
      `packages/cli/src/commands/run.ts:4 imports '../../../agent/src/config.js': reaches into @tapit/agent by a relative path`,
      `packages/cli/src/commands/run.ts:5 imports '@tapit/scheduler': @tapit/cli must not import @tapit/scheduler; they share only ${PROTOCOL}`,
      `packages/cli/src/commands/run.ts:6 imports '../../../../test/support/env.js': leaves @tapit/cli by a relative path`,
      `packages/agent/src/tasks/runner.ts:1 imports 'dockerode': dockerode belongs under src/drivers/docker/, behind the driver contract`,
      `packages/agent/src/drivers/driver.ts:3 imports 'dockerode': dockerode belongs under src/drivers/docker/, behind the driver contract`,
      `packages/scheduler/src/app.ts:1 imports 'left-pad': 'left-pad' is not in the dependencies of packages/scheduler/package.json, so a production install would lack it`,
      `packages/scheduler/src/app.ts:2 imports 'pg': 'pg' is not in the dependencies of packages/scheduler/package.json, so a production install would lack it`,
      `packages/scheduler/src/app.ts:3 imports 'vitest': 'vitest' is not in the dependencies of packages/scheduler/package.json, so a production install would lack it`,
      `packages/scheduler/src/app.test.ts:1 imports 'left-pad': 'left-pad' is not declared in packages/scheduler/package.json`,
      `packages/scheduler/src/dashboard/client/entries/page.ts:1 imports 'left-pad': 'left-pad' is not declared in packages/scheduler/package.json`,
    ]);
  });

  it('catches package.json files that break them', () => {
    const tree = treeOf(
      {},
      {
        protocol: { name: PROTOCOL, version: '0.1.0', dependencies: { zod: '4.6.7', ws: '8.23.0' } },
        cli: { name: '@tapit/cli', dependencies: { [PROTOCOL]: '^0.0.9', '@tapit/agent': '0.1.0', zod: '4.5.0' } },
      },
    );
    expect(manifestViolations(tree)).toEqual([
      `packages/protocol/package.json dependencies has ws: ${PROTOCOL} depends on zod only`,
      `packages/cli/package.json dependencies has ${PROTOCOL}@^0.0.9, but the workspace is 0.1.0`,
      'packages/cli/package.json dependencies has @tapit/agent: @tapit/cli must not depend on another app',
      'zod is declared with different versions: 4.6.7 in packages/protocol, packages/scheduler; 4.5.0 in packages/cli',
    ]);
  });

  describe('on files on disk', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tapit-architecture-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('walks packages/*/src, skipping dist and node_modules, and finds a violation there', () => {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(scratch, path)), { recursive: true });
        writeFileSync(join(scratch, path), text);
      };
      write('package.json', JSON.stringify(root));
      for (const [dir, manifest] of Object.entries(manifests)) write(`packages/${dir}/package.json`, JSON.stringify(manifest));
      write('packages/protocol/src/common/ids.ts', `import { z } from 'zod';`);
      write('packages/protocol/src/deep/er/clock.mts', `import { setTimeout } from 'node:timers/promises';`);
      write('packages/protocol/dist/index.js', `import fs from 'node:fs';`);
      write('packages/protocol/src/node_modules/x/index.ts', `import fs from 'node:fs';`);
      write('packages/agent/src/main.ts', `import { Name } from '@tapit/protocol';`);
      write('packages/cli/src/index.ts', `import '@tapit/agent';`);

      const tree = readTree(scratch);
      expect(tree.sources.map((s) => s.path).sort()).toEqual([
        'packages/agent/src/main.ts',
        'packages/cli/src/index.ts',
        'packages/protocol/src/common/ids.ts',
        'packages/protocol/src/deep/er/clock.mts',
      ]);
      expect(importViolations(tree)).toEqual([
        `packages/cli/src/index.ts:1 imports '@tapit/agent': @tapit/cli must not import @tapit/agent; they share only ${PROTOCOL}`,
        `packages/protocol/src/deep/er/clock.mts:1 imports 'node:timers/promises': ${PROTOCOL} must not import node: modules; it must load in any JavaScript runtime`,
      ]);
    });
  });
});
