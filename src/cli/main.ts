import { Command, CommanderError } from 'commander';
import { EXIT, type ExitCode } from './exit-codes.js';
import { DEFAULT_CONFIG_PATH } from '../config/schema.js';
import { reportFailure } from './report.js';

const stdio = { stdout: (t: string) => void process.stdout.write(t), stderr: (t: string) => void process.stderr.write(t) };

// The operator command: each subcommand lazy-imports its module so one never pays for another.
export async function operatorMain(argv: readonly string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.OK;
  const program = new Command('keepalived-mysql')
    .description('keepalived companion for a two-node MySQL/MariaDB master + semi-sync replica pair')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showHelpAfterError(false);

  program
    .command('check-mysql')
    .description('the vrrp_script: exit 0 while local MySQL is up; on "down" take this node out of the VRRP race')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { checkMysqlMain } = await import('./check-mysql-main.js');
      code = await checkMysqlMain(args);
    });

  program
    .command('notify')
    .description('keepalived notify hook: notify INSTANCE VI_1 MASTER 100, or by hand: notify master|backup|stop|fault')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { notifyMain } = await import('./notify-main.js');
      code = await notifyMain(args);
    });

  program
    .command('watch')
    .description('fast profile: a resident check-mysql, one round every check.watch.intervalMs, its verdict in <stateDir>/check.down for keepalived\'s track_file')
    .option('--config <path>', 'node config', DEFAULT_CONFIG_PATH)
    .action(async (opts: { config: string }) => {
      const { watchMain } = await import('./watch-main.js');
      code = await watchMain(opts);
    });

  program
    .command('render-config')
    .description('render a template (e.g. templates/keepalived.conf.tmpl): {{name}} placeholders from --values/--set')
    .argument('<template>', 'template file')
    .option('--values <file>', 'JSON object of placeholder values')
    .option('--set <name=value>', 'one placeholder value (repeatable, wins over --values)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--out <file>', 'write here (atomically) instead of stdout')
    .action(async (template: string, opts: { values?: string; set?: string[]; out?: string }) => {
      const { renderConfigMain } = await import('./commands/render-config.js');
      code = await renderConfigMain(template, opts);
    });

  program
    .command('rejoin')
    .description('make this fenced old master a semi-sync replica of the new one: save what only it holds, discard it (flashback or rebuild), replicate')
    .option('--config <path>', 'config file (default /etc/keepalived-mysql/config.json)')
    .option('--dry-run', 'print what would be saved, discarded and rebuilt; change nothing')
    .option('--method <m>', 'auto (flashback when possible, else rebuild), flashback, or rebuild', 'auto')
    .action(async (opts: { config?: string; dryRun?: boolean; method?: string }) => {
      const { rejoinMain } = await import('./commands/rejoin.js');
      code = await rejoinMain(opts);
    });

  program
    .command('switchover')
    .description('planned switchover: move the master role to the other node through keepalived (notify MASTER promotes it), lossless; refuses when the target is not ready')
    .option('--config <path>', 'node config', DEFAULT_CONFIG_PATH)
    .option('--dry-run', 'read both nodes and print the plan (or the refusal); change nothing')
    .option('--wait', 'also wait until the old master replicates from the new one')
    .option('--deadline-ms <n>', 'each wait ends by then (the target writable; in a rollback, the old master writable again)', '30000')
    .option('--max-lag-s <n>', "refuse when the target's Seconds_Behind_Master is above this", '5')
    .action(async (opts: { config: string; dryRun?: boolean; wait?: boolean; deadlineMs: string; maxLagS: string }) => {
      const { switchoverMain } = await import('./commands/switchover.js');
      code = await switchoverMain(opts, stdio);
    });

  program
    .command('status')
    .description('both nodes side by side and one verdict: OK / DEGRADED / DANGER (exit 0/1/2, 3 unknown: Nagios)')
    .option('--config <path>', 'node config', DEFAULT_CONFIG_PATH)
    .option('--json', 'one JSON object (docs/status.md)')
    .action(async (opts: { config: string; json?: boolean }) => {
      const { statusMain } = await import('./commands/status.js');
      code = await statusMain(opts, stdio);
    });

  program
    .command('metrics')
    .description('status and the ledgers as Prometheus metrics, on stdout or into node_exporter\'s textfile directory')
    .option('--config <path>', 'node config', DEFAULT_CONFIG_PATH)
    .option('--textfile <dir>', `write <dir>/keepalived_mysql.prom atomically instead of stdout`)
    .action(async (opts: { config: string; textfile?: string }) => {
      const { metricsMain } = await import('./commands/metrics.js');
      code = await metricsMain(opts, stdio);
    });

  program
    .command('doctor')
    .description('pre-flight of this node and what it sees of its peer: one PASS/WARN/FAIL line per requirement, with the fix (exit 1 on any FAIL)')
    .option('--config <path>', 'node config', DEFAULT_CONFIG_PATH)
    .option('--json', 'one JSON object: {v, node, findings: [{id, level, message, fix}]}')
    .action(async (opts: { config: string; json?: boolean }) => {
      const { doctorMain } = await import('./commands/doctor.js');
      code = await doctorMain(opts, stdio);
    });

  program
    .command('history')
    .description('the transitions this node ran (from paths.stateDir/transitions.jsonl), oldest first')
    .option('--config <path>', 'node config', DEFAULT_CONFIG_PATH)
    .option('--limit <n>', 'show the last n transitions', '20')
    .option('--checks', 'also show check-mysql decisions (check-decisions.jsonl)')
    .option('--json', 'one JSON object (docs/history.md)')
    .action(async (opts: { config: string; limit: string; json?: boolean; checks?: boolean }) => {
      const { historyMain } = await import('./commands/history.js');
      code = await historyMain(opts, stdio);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK;
      return EXIT.USAGE;
    }
    return reportFailure(err);
  }
  return code;
}
