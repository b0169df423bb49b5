import { LabError } from './exec.js';
import { status, teardown, up, type LabOptions } from './lab.js';
import { PROFILES, SETTINGS, parseProfile, parseSetting, parseWiring } from './settings.js';

// `npm run lab -- up [--setting NAME] [--wiring fifo|script] [--profile default|fast] [--stub-bins] | down | status`
const USAGE = `usage: npm run lab -- up [--setting ${SETTINGS.join('|')}] [--wiring fifo|script] [--profile ${PROFILES.join('|')}] [--stub-bins] | down | status`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const log = (s: string): void => void process.stdout.write(`lab: ${s}\n`);
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network namespaces, bind mounts)');
  switch (cmd) {
    case 'up': {
      const opts: LabOptions = { log };
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        const val = (): string => rest[++i] ?? '';
        if (a === '--stub-bins') opts.stubBins = true;
        else if (a === '--wiring') opts.wiring = parseWiring(val());
        else if (a === '--setting') opts.setting = parseSetting(val());
        else if (a === '--profile') opts.profile = parseProfile(val());
        else throw new LabError(`unknown option ${a ?? ''}; ${USAGE}`);
      }
      await up(opts);
      return 0;
    }
    case 'down':
      await teardown(log);
      log('down');
      return 0;
    case 'status': {
      for (const s of await status()) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
      }
      return 0;
    }
    default:
      throw new LabError(USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    process.exit(err instanceof LabError ? 1 : 70);
  },
);
