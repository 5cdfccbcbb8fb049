import type { CommandModule } from 'yargs';
import { convertWeights } from '../model/weights/convert.js';

export const convertWeightsCommand: CommandModule<object, { in: string; out: string }> = {
  command: 'convert-weights <in> <out>',
  describe: 'convert a PyTorch checkpoint (.pth zip, or .safetensors) to .safetensors with the original key names',
  builder: (y) =>
    y
      .positional('in', { type: 'string', demandOption: true, describe: 'input .pth / .safetensors (format detected from content)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output .safetensors (written atomically)' }) as any,
  handler: (a) => {
    const r = convertWeights(a.in, a.out);
    process.stdout.write(`${a.out}: ${r.tensors} tensors, ${r.bytes} bytes, layout ${r.layout}\n`);
  },
};
