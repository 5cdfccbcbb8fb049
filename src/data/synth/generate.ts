// `pipa synth OUT --source STYLE --target STYLE --n N --seed S`: a synthetic domain-shift dataset in
// the original folder layouts, so prepare-data, the readers and RCS run on it unchanged:
//   OUT/gta/images/00001.png, OUT/gta/labels/00001.png                       (source, n images)
//   OUT/cityscapes/leftImg8bit/{train,val}/<city>/<city>_000000_NNNNNN_leftImg8bit.png
//   OUT/cityscapes/gtFine/{train,val}/<city>/<city>_000000_NNNNNN_gtFine_labelIds.png
//   OUT/synth.json                                                           (the options used)
// Deterministic from the seed: every image depends only on (seed, domain, split, index).
import { join } from 'node:path';
import { DataConfigError } from '../errors.js';
import { writeFileAtomic } from '../image-io.js';
import { WorkerPool } from '../worker-pool.js';
import type { SynthJob } from './generate-one.js';
import { parseStyle, type SynthStyle } from './style.js';

export interface SynthOptions {
  out: string;
  /** Style specs (see style.ts); defaults 'game' (source) and 'city' (target). */
  source?: string;
  target?: string;
  /** Source images and target training images. */
  n: number;
  /** Target validation images (default max(1, round(n / 5))). */
  nVal?: number;
  seed: number;
  /** Image size of both domains (default 256×256); sourceSize/targetSize override per domain. */
  width?: number;
  height?: number;
  sourceSize?: [number, number];
  targetSize?: [number, number];
  /** Worker threads (1 = this thread). */
  nproc?: number;
  onProgress?: (p: { done: number; total: number; path: string }) => void;
}

export interface SynthSummary {
  out: string;
  source: { root: string; images: number; style: SynthStyle };
  target: { root: string; train: number; val: number; style: SynthStyle };
  seconds: number;
  imagesPerSecond: number;
}

export const SYNTH_TRAIN_CITIES = ['ashford', 'brookvale', 'cedarton'];
export const SYNTH_VAL_CITIES = ['dunmore'];

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function synthJobs(o: SynthOptions): { jobs: SynthJob[]; sourceStyle: SynthStyle; targetStyle: SynthStyle; nVal: number } {
  if (!Number.isInteger(o.n) || o.n < 1) throw new DataConfigError(`synth: n must be a positive integer, got ${o.n}`);
  const nVal = o.nVal ?? Math.max(1, Math.round(o.n / 5));
  const sourceStyle = parseStyle(o.source ?? 'game');
  const targetStyle = parseStyle(o.target ?? 'city');
  const w = o.width ?? 256, h = o.height ?? 256;
  const [sw, sh] = o.sourceSize ?? [w, h];
  const [tw, th] = o.targetSize ?? [w, h];
  for (const v of [sw, sh, tw, th]) if (!Number.isInteger(v) || v < 16) throw new DataConfigError(`synth: image sizes must be integers ≥ 16, got ${v}`);
  const jobs: SynthJob[] = [];
  const gta = join(o.out, 'gta'), cs = join(o.out, 'cityscapes');
  for (let i = 0; i < o.n; i++) {
    const name = pad(i + 1, 5);
    jobs.push({
      seed: o.seed, domain: 'source', split: 'train', index: i, width: sw, height: sh, style: sourceStyle,
      imagePath: join(gta, 'images', `${name}.png`), labelPath: join(gta, 'labels', `${name}.png`), labelFormat: 'palette',
    });
  }
  for (const [split, count, cities] of [['train', o.n, SYNTH_TRAIN_CITIES], ['val', nVal, SYNTH_VAL_CITIES]] as const) {
    for (let i = 0; i < count; i++) {
      const city = cities[i % cities.length];
      const stem = `${city}_000000_${pad(i, 6)}`;
      jobs.push({
        seed: o.seed, domain: 'target', split, index: i, width: tw, height: th, style: targetStyle,
        imagePath: join(cs, 'leftImg8bit', split, city, `${stem}_leftImg8bit.png`),
        labelPath: join(cs, 'gtFine', split, city, `${stem}_gtFine_labelIds.png`), labelFormat: 'grey',
      });
    }
  }
  return { jobs, sourceStyle, targetStyle, nVal };
}

export async function generateSynthDataset(o: SynthOptions): Promise<SynthSummary> {
  const t0 = Date.now();
  const { jobs, sourceStyle, targetStyle, nVal } = synthJobs(o);
  const nproc = Math.max(1, Math.floor(o.nproc ?? 1));
  const pool = new WorkerPool(nproc > 1 ? nproc : 0, {});
  let done = 0, next = 0;
  try {
    const lane = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        await pool.run({ type: 'synth', job });
        o.onProgress?.({ done: ++done, total: jobs.length, path: job.imagePath });
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs.length, Math.max(4, nproc * 2)) }, lane));
  } finally {
    await pool.close();
  }
  const summary: Omit<SynthSummary, 'seconds' | 'imagesPerSecond'> = {
    out: o.out,
    source: { root: join(o.out, 'gta'), images: o.n, style: sourceStyle },
    target: { root: join(o.out, 'cityscapes'), train: o.n, val: nVal, style: targetStyle },
  };
  // Only the options (no absolute paths, no timings): the same options give the same file.
  const manifest = {
    seed: o.seed, n: o.n, nVal, sourceSpec: o.source ?? 'game', targetSpec: o.target ?? 'city',
    sourceSize: jobs[0] ? [jobs[0].width, jobs[0].height] : null, targetSize: [jobs.at(-1)!.width, jobs.at(-1)!.height],
    sourceStyle, targetStyle, layout: { source: 'gta', target: 'cityscapes' },
  };
  await writeFileAtomic(join(o.out, 'synth.json'), JSON.stringify(manifest, null, 2) + '\n');
  const seconds = (Date.now() - t0) / 1000;
  return { ...summary, seconds, imagesPerSecond: jobs.length / Math.max(seconds, 1e-9) };
}
