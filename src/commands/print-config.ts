import type { CommandModule } from 'yargs';
import { configToYaml, loadConfig } from '../config/load.js';
import { withConfig } from './shared-options.js';

export const printConfigCommand: CommandModule<object, { config: string; set: string[]; json: boolean }> = {
  command: 'print-config',
  describe: 'print the resolved config (after extends and --set) and its hash',
  builder: (y) => withConfig(y).option('json', { type: 'boolean', default: false, describe: 'print JSON instead of YAML' }) as any,
  handler: (a) => {
    const { config, hash } = loadConfig(a.config, a.set);
    process.stdout.write(a.json ? `${JSON.stringify(config, null, 2)}\n` : `# config hash: ${hash}\n${configToYaml(config)}`);
  },
};
