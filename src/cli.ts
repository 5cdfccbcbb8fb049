// `pipa <command>`: the only place that reads argv and the environment. Each command
// parses its options, builds what it needs from the other modules, and reports errors
// in one line naming what was wrong (exit code 2 for bad input, 1 for failures).
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, configToYaml, loadConfig } from './config/load.js';
import { convertWeights } from './model/weights/convert.js';

const withConfig = <T>(y: Argv<T>) =>
  y
    .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'run config (YAML) in configs/' })
    .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a value: --set a.b=c (repeatable)' });

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('pipa')
    .usage('$0 <command> [options]\n\nPiPa + HRDA unsupervised domain adaptation, data-parallel over gRPC.')
    .command(
      'print-config',
      'print the resolved config (after extends and --set) and its hash',
      (y) => withConfig(y).option('json', { type: 'boolean', default: false, describe: 'print JSON instead of YAML' }),
      (a) => {
        const { config, hash } = loadConfig(a.config, a.set);
        process.stdout.write(a.json ? `${JSON.stringify(config, null, 2)}\n` : `# config hash: ${hash}\n${configToYaml(config)}`);
      },
    )
    .command(
      'convert-weights <in> <out>',
      'convert a PyTorch checkpoint (.pth zip, or .safetensors) to .safetensors with the original key names',
      (y) =>
        y
          .positional('in', { type: 'string', demandOption: true, describe: 'input .pth / .safetensors (format detected from content)' })
          .positional('out', { type: 'string', demandOption: true, describe: 'output .safetensors (written atomically)' }),
      (a) => {
        const r = convertWeights(a.in, a.out);
        process.stdout.write(`${a.out}: ${r.tensors} tensors, ${r.bytes} bytes, layout ${r.layout}\n`);
      },
    )
    .demandCommand(1, 'name a command; see pipa --help')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
}

/** Errors caused by the user's input: reported in one line, exit code 2. */
const INPUT_ERRORS = new Set(['ConfigError', 'CheckpointError', 'DataLayoutError']);

async function main(): Promise<void> {
  try {
    await buildCli(hideBin(process.argv)).fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help()}\n\npipa: ${msg}\n`);
      process.exit(2);
    }).parseAsync();
  } catch (e) {
    const err = e as Error;
    const input = INPUT_ERRORS.has(err.name) || err instanceof ConfigError;
    process.stderr.write(`pipa: ${input ? err.message : (err.stack ?? err.message)}\n`);
    process.exit(input ? 2 : 1);
  }
}

if (process.env.PIPA_CLI_NO_MAIN !== '1') await main();
