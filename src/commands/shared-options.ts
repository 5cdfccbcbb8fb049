// Options several commands share.
import type { Argv } from 'yargs';
import { BACKEND_NAMES, type BackendName } from '../model/backend.js';

export function withConfig<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'run config (YAML) in configs/' })
    .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a value: --set a.b=c (repeatable)' });
}

export function withBackend<T>(y: Argv<T>) {
  return y.option('backend', {
    choices: BACKEND_NAMES as BackendName[],
    default: 'auto' as BackendName,
    describe: 'tensorflow (tfjs-node-gpu / tfjs-node), wasm, or the pure-JS cpu backend; auto picks the fastest that loads',
  });
}

export function withLogging<T>(y: Argv<T>) {
  return y
    .option('log-level', { type: 'string', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] })
    .option('pretty', { type: 'boolean', describe: 'human-readable logs (default: on when stderr is a TTY)' });
}
