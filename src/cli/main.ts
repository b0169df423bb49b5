import { Command, CommanderError } from 'commander';
import { EXIT, type ExitCode } from './exit-codes.js';
import { reportFailure } from './report.js';

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
