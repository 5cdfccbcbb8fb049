// A tiny run for the engine tests: a few small synthetic images (generated and prepared once
// per test process in a temp folder) and --set overrides that shrink the synthetic_tiny model
// to what test/helpers/tiny-uda.ts uses, so a step takes about a second on the cpu backend.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthDataset, prepareData } from '../../src/data/index.js';
import { TINY_MODEL_OVERRIDES } from '../helpers/tiny-uda.js';

export const ENGINE_CONFIG = 'configs/synthetic_tiny.yaml';

export async function tinySyntheticData(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'pipa-engine-data-'));
  await generateSynthDataset({ out, n: 6, nVal: 3, seed: 3, width: 128, height: 64, source: 'game', target: 'city' });
  await prepareData('gta', join(out, 'gta'));
  await prepareData('cityscapes', join(out, 'cityscapes'));
  return out;
}

/** --set overrides for a `steps`-step run on the data in `dataDir`. */
export function tinyRunOverrides(dataDir: string, steps: number, extra: string[] = []): string[] {
  return [
    `data.source.root=${join(dataDir, 'gta')}`,
    `data.target.root=${join(dataDir, 'cityscapes')}`,
    `data.val.root=${join(dataDir, 'cityscapes')}`,
    'data.synthetic.enabled=false',
    'data.source.resize=[128, 64]',
    'data.target.resize=[128, 64]',
    'data.rcs.minPixels=10',
    ...TINY_MODEL_OVERRIDES,
    'train.globalBatch=2',
    'train.microBatch=1',
    `schedule.maxIters=${steps}`,
    'schedule.warmupIters=0',
    'optimizer.lr=0.002',
    'train.evalInterval=2',
    'train.checkpointInterval=2',
    'train.logInterval=1',
    'distributed.commitInterval=1',
    ...extra,
  ];
}
