import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** A CommonJS bundle compiled through node:vm so that V8's code cache can skip parsing and compiling it. */
export interface LoadedBundle {
  readonly exports: Record<string, unknown>;
  readonly script: Script;
  /** undefined: no cache given; true: V8 refused it (another node version or flags), the bundle compiled from source. */
  readonly cacheRejected: boolean | undefined;
}

// Node 20 has no module.enableCompileCache(): a vm.Script with cachedData is the one way to reuse V8's compile work.
export function loadBundle(bundleFile: string, cacheFile?: string): LoadedBundle {
  // The bundle is ASCII (esbuild charset ascii, checked at build): latin1 skips UTF-8 decoding of a large file.
  const source = readFileSync(bundleFile, 'latin1');
  let cachedData: Buffer | undefined;
  if (cacheFile !== undefined) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundleFile,
    ...(cachedData !== undefined ? { cachedData } : {}),
  });
  const module = { exports: {} as Record<string, unknown> };
  const body = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void;
  body(module.exports, createRequire(bundleFile), module, bundleFile, dirname(bundleFile));
  return { exports: module.exports, script, cacheRejected: cachedData === undefined ? undefined : script.cachedDataRejected };
}
