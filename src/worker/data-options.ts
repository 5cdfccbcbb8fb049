// From the run config to the data layer's options (the data layer knows nothing of configs):
// pipeline sizes and normalisation, RCS settings, and the validation set.
import type { PipaConfig } from '../config/schema.js';
import type { TrainDataOptions, TestPipelineConfig } from '../data/index.js';

const normOf = (c: PipaConfig) => ({ mean: c.data.mean, std: c.data.std });

export function trainDataOptionsOf(c: PipaConfig): TrainDataOptions {
  const s = c.data.source;
  const t = c.data.target;
  if (s.type === 'cityscapes') throw Object.assign(new Error(`data.source.type must be gta or synthia, got ${s.type}`), { name: 'ConfigError' });
  return {
    seed: c.seed,
    source: {
      kind: s.type,
      root: s.root,
      // cat_max_ratio 1 accepts every crop (mmseg's default), which is what null means in the config.
      pipeline: { resizeScale: s.resize, crop: s.crop, catMaxRatio: s.catMaxRatio ?? 1, norm: normOf(c) },
    },
    target: {
      root: t.root,
      pipeline: { resizeScale: t.resize, crop: t.crop, norm: normOf(c), pseudoMargins: c.uda.cropPseudoMargins },
    },
    rcs: c.data.rcs.enabled ? { temperature: c.data.rcs.temperature, minPixels: c.data.rcs.minPixels, minCropRatio: c.data.rcs.minCropRatio } : null,
  };
}

/** The test pipeline resizes validation images like the target training images (as the original configs do). */
export function valPipelineOf(c: PipaConfig): Partial<TestPipelineConfig> {
  return { resizeScale: c.data.target.resize, norm: normOf(c) };
}
