// "Generated on first use": when the config asks for the synthetic dataset and its folders
// are not there yet, write it (pipa synth) and prepare it (pipa prepare-data) before any
// worker needs it. Workers on this machine then find it at the configured roots.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { PipaConfig } from '../config/schema.js';
import { generateSynthDataset, prepareData } from '../data/index.js';

export class SyntheticDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyntheticDataError';
  }
}

/** True when both roots hold prepared data (the RCS statistics are written last). */
function prepared(c: PipaConfig): boolean {
  return existsSync(join(c.data.source.root, 'sample_class_stats.json')) && existsSync(join(c.data.target.root, 'sample_class_stats.json'));
}

export async function ensureSyntheticData(c: PipaConfig, log: Logger, nproc = 2): Promise<'present' | 'generated' | 'not-synthetic'> {
  if (!c.data.synthetic.enabled) return 'not-synthetic';
  if (prepared(c)) return 'present';
  const out = dirname(resolve(c.data.source.root));
  if (resolve(c.data.source.root) !== join(out, 'gta') || resolve(c.data.target.root) !== join(out, 'cityscapes')) {
    throw new SyntheticDataError(
      `data.synthetic.enabled needs data.source.root = OUT/gta and data.target.root = OUT/cityscapes (the layout pipa synth writes); got ${c.data.source.root} and ${c.data.target.root}`,
    );
  }
  const s = c.data.synthetic;
  const [height, width] = s.size;
  log.info({ out, n: s.n, nVal: s.nVal, width, height }, 'synthetic dataset missing: generating it (first use)');
  await generateSynthDataset({ out, source: s.sourceStyle, target: s.targetStyle, n: s.n, nVal: s.nVal, seed: c.seed, width, height, nproc });
  for (const [kind, root] of [['gta', c.data.source.root], ['cityscapes', c.data.target.root]] as const) {
    const r = await prepareData(kind, root, { nproc });
    if (r.failed.length) throw new SyntheticDataError(`preparing ${root}: ${r.failed.length} files failed, first ${r.failed[0].path}: ${r.failed[0].reason}`);
  }
  log.info({ out }, 'synthetic dataset ready');
  return 'generated';
}
