import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCheckMysqlArgs } from '../../../src/cli/check-mysql-main.js';
import { DEFAULT_CONFIG_PATH } from '../../../src/config/schema.js';
import { isAppError } from '../../../src/errors.js';

const distSrc = fileURLToPath(new URL('../../../src/', import.meta.url));
const BANNED = ['winston', 'winston-daily-rotate-file', 'ssh2', 'proper-lockfile', 'commander'];

// Static `import … from '…'` and `export … from '…'` specifiers of a compiled module; import() is not followed.
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? '');
}

function reachablePackages(entry: string): { packages: Set<string>; files: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop() ?? '';
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
    }
  }
  return { packages, files };
}

describe('check-mysql start-up budget', () => {
  it('when the compiled import graph of check-mysql is walked then winston, ssh2, proper-lockfile and commander are not reachable statically', () => {
    for (const entry of ['cli/check-mysql-entry.js', 'cli/check-mysql-main.js']) {
      const { packages, files } = reachablePackages(join(distSrc, entry));
      assert.ok(files.size > 5, `walked only ${files.size} files`);
      assert.deepEqual([...packages].sort(), ['mysql2']);
      for (const banned of BANNED) assert.equal(packages.has(banned), false, banned);
    }
  });

  it('when the bundle was built then its inputs hold no winston, ssh2, proper-lockfile or commander', (t) => {
    const meta = join(distSrc, '../check-mysql.meta.json');
    if (!existsSync(meta)) {
      if (process.env['CI'] === 'true') throw new Error('dist/check-mysql.meta.json missing: npm run build makes it');
      t.skip('bundle not built (npm run build)');
      return;
    }
    const inputs = Object.keys((JSON.parse(readFileSync(meta, 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    assert.ok(inputs.some((i) => i.includes('node_modules/mysql2/')));
    for (const banned of BANNED) assert.equal(inputs.some((i) => i.includes(`node_modules/${banned}/`)), false, banned);
    // iconv-lite's codec tables wait in the cold bundle: half a megabyte a healthy check never decodes with.
    assert.equal(inputs.some((i) => i.includes('node_modules/iconv-lite/encodings/tables/')), false, 'iconv-lite tables');
  });

  it('when the bundle is loaded and runs --help then the node built-ins only rare paths use, crypto among them, are not loaded', (t) => {
    const dist = join(distSrc, '..');
    if (!existsSync(join(dist, 'check-mysql.cjs'))) {
      if (process.env['CI'] === 'true') throw new Error('dist/check-mysql.cjs missing: npm run build makes it');
      t.skip('bundle not built (npm run build)');
      return;
    }
    const script = `const { loadBundle } = require(${JSON.stringify(join(dist, 'check-mysql-loader.cjs'))});
      const b = loadBundle(${JSON.stringify(join(dist, 'check-mysql.cjs'))}, ${JSON.stringify(join(dist, 'check-mysql.cjs.cache'))});
      b.exports.checkMysqlMain(['--help'], { stdout: () => {} }).then((code) => process.stdout.write(JSON.stringify({ code, loaded: process.moduleLoadList })));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { code, loaded } = JSON.parse(r.stdout) as { code: number; loaded: string[] };
    assert.equal(code, 0);
    assert.ok(loaded.includes('NativeModule net'), 'mysql2 loaded with the bundle');
    for (const lazy of ['child_process', 'fs/promises', 'timers/promises', 'os']) assert.equal(loaded.includes(`NativeModule ${lazy}`), false, lazy);
    // mysql_native_password's SHA-1 comes from @noble/hashes; iconv-lite gets node's buffer, not safer-buffer's copy of it.
    for (const spared of ['crypto', 'internal/file']) assert.equal(loaded.includes(`NativeModule ${spared}`), false, spared);
  });
});

describe('parseCheckMysqlArgs', () => {
  it('when no flag is given then the default config path is used', () => {
    assert.deepEqual(parseCheckMysqlArgs([]), { configPath: DEFAULT_CONFIG_PATH, explain: false, help: false });
  });

  it('when --config, --config= and --explain are given then they are read', () => {
    assert.deepEqual(parseCheckMysqlArgs(['--config', '/a.json', '--explain']), { configPath: '/a.json', explain: true, help: false });
    assert.equal(parseCheckMysqlArgs(['--config=/b.json']).configPath, '/b.json');
    assert.equal(parseCheckMysqlArgs(['-h']).help, true);
  });

  it('when keepalived calls it (--config <path>) then the answer without parseArgs equals parseArgs\' for the same path', () => {
    for (const path of ['/etc/keepalived-mysql/config.json', 'relative.json', '/with space/c.json', '/x=y.json']) {
      assert.deepEqual(parseCheckMysqlArgs(['--config', path]), parseCheckMysqlArgs([`--config=${path}`]), path);
    }
    assert.throws(() => parseCheckMysqlArgs(['--config', '--explain']), (err: unknown) => isAppError(err) && err.code === 'USAGE', 'a flag is not a path');
  });

  it('when --role is given then it is read, and only write, read or member are roles', () => {
    assert.equal(parseCheckMysqlArgs(['--role', 'write']).role, 'write');
    assert.equal(parseCheckMysqlArgs(['--role=member']).role, 'member');
    assert.throws(() => parseCheckMysqlArgs(['--role', 'primary']), (err: unknown) => isAppError(err) && err.code === 'USAGE' && /expected write, read or member/.test(err.message));
  });

  const usage: [string, string[]][] = [['an unknown flag', ['--bogus']], ['a positional', ['x']], ['--config without a value', ['--config']], ['an empty --config', ['--config=']]];
  for (const [name, argv] of usage) {
    it(`when there is ${name} then it is a USAGE error`, () => {
      assert.throws(() => parseCheckMysqlArgs(argv), (err: unknown) => isAppError(err) && err.code === 'USAGE' && !err.message.includes('\n'));
    });
  }
});
