// `pipa <command>`: the only place that reads argv and the environment (commands receive
// what they need as arguments). Errors caused by the user's input are reported in one
// line naming what was wrong (exit code 2); other failures print their stack (exit 1).
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COMMANDS } from './commands/index.js';

export function buildCli(argv: string[]): Argv {
  let y = yargs(argv)
    .scriptName('pipa')
    .usage('$0 <command> [options]\n\nPiPa + HRDA unsupervised domain adaptation, data-parallel over gRPC.');
  for (const c of COMMANDS) y = y.command(c);
  return y
    // Commands draw progress bars only when a person is watching.
    .middleware((argv) => {
      argv.tty = Boolean(process.stderr.isTTY);
    })
    // The environment reaches commands as a plain record (e.g. the worker's torchrun variables).
    .middleware((argv) => {
      argv.env = process.env;
    })
    .demandCommand(1, 'name a command; see pipa --help')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
}

/** Errors caused by the user's input: one line, exit code 2. */
const INPUT_ERRORS = new Set([
  'ConfigError', 'CheckpointError', 'DataLayoutError', 'DataError', 'BatchError', 'MembershipError', 'BackendUnavailableError', 'SegmentorConfigError',
  'DataConfigError', 'DataNotPreparedError', 'ShardingError', 'SynthStyleError', 'TorchEnvError', 'MetricsServerError', 'HealthServerError',
]);

async function main(): Promise<void> {
  try {
    await buildCli(hideBin(process.argv))
      .fail((msg, err, y) => {
        if (err) throw err;
        process.stderr.write(`${y.help()}\n\npipa: ${msg}\n`);
        process.exit(2);
      })
      .parseAsync();
  } catch (e) {
    const err = e as Error;
    const input = INPUT_ERRORS.has(err.name);
    process.stderr.write(`pipa: ${input ? err.message : (err.stack ?? err.message)}\n`);
    process.exit(input ? 2 : 1);
  }
}

if (process.env.PIPA_CLI_NO_MAIN !== '1') await main();
