import type { CommandModule } from 'yargs';
import { prepareData } from '../data/index.js';
import { Progress } from '../common/progress.js';
import { createLogger } from '../common/logger.js';

interface Args {
  dataset: 'gta' | 'cityscapes' | 'synthia';
  dir: string;
  nproc: number;
  check: 'decode' | 'header' | 'none';
  tty: boolean;
}

export const prepareDataCommand: CommandModule<object, Args> = {
  command: 'prepare-data <dataset> <dir>',
  describe: 'convert labels to *_labelTrainIds.png and write the RCS statistics (resumable; bad files are reported and skipped)',
  builder: (y) =>
    y
      .positional('dataset', { choices: ['gta', 'cityscapes', 'synthia'] as const, demandOption: true })
      .positional('dir', { type: 'string', demandOption: true, describe: "the dataset folder (see README 'Data layout')" })
      .option('nproc', { type: 'number', default: 1, describe: 'worker threads' })
      .option('check', { choices: ['decode', 'header', 'none'] as const, default: 'decode' as const, describe: 'how each paired image is checked' }) as any,
  handler: async (a) => {
    const log = createLogger({ pretty: a.tty });
    let bar: Progress | null = null;
    const s = await prepareData(a.dataset, a.dir, {
      nproc: a.nproc,
      imageCheck: a.check,
      onProgress: (p) => {
        bar ??= new Progress({ label: `prepare ${a.dataset}`, total: p.total, unit: 'file', tty: a.tty, log });
        bar.update(p.done, { converted: p.converted, resumed: p.resumed, failed: p.failed });
      },
    });
    (bar as Progress | null)?.finish();
    for (const f of s.failed) process.stderr.write(`skipped ${f.path}: ${f.reason}\n`);
    process.stdout.write(`${a.dataset} ${a.dir}: ${s.total} files, ${s.converted} converted, ${s.resumed} already done, ${s.failed.length} failed (${s.seconds.toFixed(1)} s)\n`);
    if (s.failed.length > 0) process.exitCode = 3;
  },
};
