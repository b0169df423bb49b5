import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { AppError } from '../../errors.js';
import { renderTemplate } from '../../keepalived/render.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export interface RenderConfigOptions {
  values?: string;
  set?: string[];
  out?: string;
}

// `keepalived-mysql render-config TEMPLATE [--values FILE.json] [--set name=value]... [--out FILE]`
export async function renderConfigMain(templatePath: string, opts: RenderConfigOptions): Promise<ExitCode> {
  const template = readText(templatePath, 'template');
  const values: Record<string, string | number> = {};
  if (opts.values !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readText(opts.values, 'values file'));
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('USAGE', `values file ${opts.values}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new AppError('USAGE', `values file ${opts.values}: expected a JSON object of name: value`);
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (k.startsWith('//')) continue;
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new AppError('USAGE', `values file ${opts.values}: ${k}: expected a string or number`);
      }
      values[k] = v;
    }
  }
  for (const pair of opts.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new AppError('USAGE', `--set ${pair}: expected name=value`);
    values[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const text = renderTemplate(template, values);
  if (opts.out === undefined) {
    process.stdout.write(text);
  } else {
    const tmp = `${opts.out}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, opts.out);
    } catch (err) {
      throw new AppError('USAGE', `cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return EXIT.OK;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppError('USAGE', `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? 'unreadable'}`);
  }
}
