import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const srcDir = join(root, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

// Line comments stripped: a comment may name process.exit without calling it.
const read = (p: string): { path: string; text: string } =>
  ({ path: relative(root, p), text: readFileSync(p, 'utf8').replace(/^\s*\/\/.*$|\s\/\/ .*$/gm, '') });
const files = sources(srcDir).map(read);
// lab/ and bench/ are programs of their own (they may exit and read argv) but know npm packages by the same rule.
const allFiles = [...files, ...['lab', 'bench'].flatMap((d) => sources(join(root, d)).map(read))];

// Value and type imports both count: the rule is about which module knows the library at all.
function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)]
    .map((m) => m[1] ?? '');
}

// Each npm package is known to exactly one adapter module (the house rule in docs/architecture.md).
const ADAPTER_FOR: Record<string, string> = {
  mysql2: 'src/mysql/mysql2-client.ts',
  ssh2: 'src/ssh/ssh2-peer-files.ts',
  winston: 'src/log/winston-logger.ts',
  'winston-daily-rotate-file': 'src/log/winston-logger.ts',
  'proper-lockfile': 'src/platform/lock.ts',
  commander: 'src/cli/main.ts',
  'prom-client': 'src/metrics/prom.ts',
};

describe('architecture of src/, lab/ and bench/', () => {
  it('when a module imports an npm package then it is that package\'s one adapter module', () => {
    const offenders: string[] = [];
    for (const f of allFiles) {
      for (const spec of importsOf(f.text)) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const pkg = spec.split('/')[0] ?? spec;
        const adapter = ADAPTER_FOR[pkg];
        if (adapter === undefined) offenders.push(`${f.path} imports ${spec}, which has no adapter module`);
        else if (adapter !== f.path) offenders.push(`${f.path} imports ${spec} (only ${adapter} may)`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('when a module imports by a variable then tsc and this test cannot see what it loads: every import() names its module', () => {
    const offenders = allFiles.flatMap((f) => [...f.text.matchAll(/\bimport\(\s*([^'\s)][^)]*)\)/g)].map((m) => `${f.path}: import(${m[1]})`));
    assert.deepEqual(offenders, []);
  });

  it('when code outside src/platform/process.ts ends the process then the rule is broken: only it calls process.exit', () => {
    const offenders = files.filter((f) => f.path !== 'src/platform/process.ts' && /process\.exit\s*\(/.test(f.text)).map((f) => f.path);
    assert.deepEqual(offenders, []);
  });

  it('when code below src/cli reads argv or the environment then it is not testable: only src/cli does', () => {
    const offenders = files.filter((f) => !f.path.startsWith('src/cli/') && /process\.(argv|env)\b/.test(f.text)).map((f) => f.path);
    assert.deepEqual(offenders, []);
  });

  it('when a module imports src/cli then layering is inverted: nothing outside src/cli does', () => {
    const offenders = files.filter((f) => !f.path.startsWith('src/cli/') && importsOf(f.text).some((s) => /(^|\/)cli\//.test(s) && !s.endsWith('/exit-codes.js')))
      .map((f) => f.path);
    assert.deepEqual(offenders, []);
  });
});
