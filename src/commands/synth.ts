import type { CommandModule } from 'yargs';
import { generateSynthDataset } from '../data/index.js';
import { Progress } from '../common/progress.js';
import { createLogger } from '../common/logger.js';

interface Args {
  out: string;
  source: string;
  target: string;
  n: number;
  nVal?: number;
  seed: number;
  size: string;
  nproc: number;
  tty: boolean;
}

/** 'WxH' → [w, h]. */
export function parseSize(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m) throw Object.assign(new Error(`--size must look like 256x128 (width x height), got '${s}'`), { name: 'DataConfigError' });
  return [Number(m[1]), Number(m[2])];
}

export const synthCommand: CommandModule<object, Args> = {
  command: 'synth <out>',
  describe: 'write a synthetic domain-shift dataset: OUT/gta (source, GTA layout) and OUT/cityscapes (target, Cityscapes layout)',
  builder: (y) =>
    y
      .positional('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('source', { type: 'string', default: 'game', describe: "source style: a preset or parts joined with '+', e.g. game, city+blur:0" })
      .option('target', { type: 'string', default: 'city', describe: 'target style (same syntax)' })
      .option('n', { type: 'number', default: 200, describe: 'source images and target training images' })
      .option('n-val', { type: 'number', describe: 'target validation images (default n/5)' })
      .option('seed', { type: 'number', default: 0 })
      .option('size', { type: 'string', default: '256x256', describe: 'image size WxH of both domains' })
      .option('nproc', { type: 'number', default: 1, describe: 'worker threads' }) as any,
  handler: async (a) => {
    const [width, height] = parseSize(a.size);
    const log = createLogger({ pretty: a.tty });
    const total = a.n * 2 + (a.nVal ?? Math.max(1, Math.round(a.n / 5)));
    const bar = new Progress({ label: 'synth', total, unit: 'img', tty: a.tty, log });
    const s = await generateSynthDataset({
      out: a.out, source: a.source, target: a.target, n: a.n, nVal: a.nVal, seed: a.seed, width, height, nproc: a.nproc,
      onProgress: (p) => bar.update(p.done),
    });
    bar.finish();
    process.stdout.write(
      `${s.out}: ${s.source.images} source (${s.source.root}), ${s.target.train} target train + ${s.target.val} val (${s.target.root}); ` +
        `${s.imagesPerSecond.toFixed(1)} img/s. Next: pipa prepare-data gta ${s.source.root} && pipa prepare-data cityscapes ${s.target.root}\n`,
    );
  },
};
