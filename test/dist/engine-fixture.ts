// A tiny run for the engine tests: a few small synthetic images (generated and prepared once
// per test process in a temp folder) and --set overrides that shrink the synthetic_tiny model
// to what test/helpers/tiny-uda.ts uses, so a step takes about a second on the cpu backend.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthDataset, prepareData } from '../../src/data/index.js';

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
    'data.source.crop=[64, 64]',
    'data.target.crop=[64, 64]',
    'data.rcs.minPixels=10',
    'model.hrda.hrCropSize=[32, 32]',
    'model.test.crop=[64, 64]',
    'model.test.stride=[32, 32]',
    'model.decoder.channels=16',
    'model.hrda.attentionEmbedDim=16',
    'model.backbone.embedDims=[8, 16, 32, 64]',
    'model.backbone.numHeads=[1, 1, 2, 4]',
    'pipa.pixel.maxSamples=64',
    'pipa.pixel.maxViews=8',
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
