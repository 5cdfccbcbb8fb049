// Every `pipa` command, one module each (src/commands/<name>.ts). Add new ones here.
import type { CommandModule } from 'yargs';
import { convertWeightsCommand } from './convert-weights.js';
import { coordinatorCommand } from './coordinator.js';
import { localCommand } from './local.js';
import { statusCommand } from './status.js';
import { workerCommand } from './worker.js';
import { printConfigCommand } from './print-config.js';
import { prepareDataCommand } from './prepare-data.js';
import { synthCommand } from './synth.js';
import { testCommand } from './test.js';

export const COMMANDS: CommandModule<any, any>[] = [
  printConfigCommand,
  convertWeightsCommand,
  synthCommand,
  prepareDataCommand,
  testCommand,
  coordinatorCommand,
  workerCommand,
  statusCommand,
  localCommand,
];
