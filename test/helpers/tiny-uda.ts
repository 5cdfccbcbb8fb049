// A tiny trainable PiPa/HRDA setup for unit tests: the synthetic_tiny config scaled down to
// 64×64 crops, and deterministic batches with blocky label maps (so ClassMix, FD and the
// pixel contrast all have several classes to work with).
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load.js';
import type { PipaConfig } from '../../src/config/schema.js';
import { rngFor } from '../../src/common/random.js';
import type { UdaBatch } from '../../src/model/uda/batch-check.js';

/** The synthetic_tiny model shrunk further for 64×64 test crops (shared by unit and engine tests). */
export const TINY_MODEL_OVERRIDES: readonly string[] = [
  'model.hrda.hrCropSize=[32, 32]',
  'model.test.crop=[64, 64]',
  'model.test.stride=[32, 32]',
  'model.decoder.channels=16',
  'model.hrda.attentionEmbedDim=16',
  'model.backbone.embedDims=[8, 16, 32, 64]',
  'model.backbone.numHeads=[1, 1, 2, 4]',
  'pipa.pixel.maxSamples=64',
  'pipa.pixel.maxViews=8',
  'data.source.crop=[64, 64]',
  'data.target.crop=[64, 64]',
];

export function tinyConfig(extra: string[] = []): PipaConfig {
  return loadConfig('configs/synthetic_tiny.yaml', [...TINY_MODEL_OVERRIDES, ...extra]).config as PipaConfig;
}

/** n images of size×size: a few rectangles of classes per image, images correlated with labels. */
export function tinyBatch(seed: number, n: number, size = 64): UdaBatch {
  const rng = rngFor(seed, 'tiny-batch');
  const labels = new Int32Array(n * size * size).fill(0);
  const img = new Float32Array(n * size * size * 3);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < 5; r++) {
      const cls = [1, 2, 8, 10, 13, 11, 255][rng.randint(0, 7)];
      const y0 = rng.randint(0, size - 8);
      const x0 = rng.randint(0, size - 8);
      const h = rng.randint(8, size - y0 + 1);
      const w = rng.randint(8, size - x0 + 1);
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) labels[(b * size + y) * size + x] = cls;
    }
    for (let p = 0; p < size * size; p++) {
      const cls = labels[b * size * size + p];
      for (let c = 0; c < 3; c++) img[(b * size * size + p) * 3 + c] = ((cls * (c + 3)) % 7) / 3 - 1 + 0.3 * rng.normal();
    }
  }
  return tf.tidy(() => ({
    srcImg: tf.tensor4d(img, [n, size, size, 3]),
    srcLabel: tf.tensor3d(labels, [n, size, size], 'int32'),
    tgtImg: tf.tensor4d(img.map((v, i) => v * 0.8 + 0.1 * Math.sin(i)), [n, size, size, 3]),
    validPseudoMask: tf.ones([n, size, size], 'int32') as tf.Tensor3D,
  }));
}

/** The first n images of a batch (micro-batch slicing for equivalence tests). */
export function sliceBatch(b: UdaBatch, start: number, n: number): UdaBatch {
  return tf.tidy(() => ({
    srcImg: tf.slice(b.srcImg, [start, 0, 0, 0], [n, -1, -1, -1]),
    srcLabel: tf.slice(b.srcLabel, [start, 0, 0], [n, -1, -1]),
    tgtImg: tf.slice(b.tgtImg, [start, 0, 0, 0], [n, -1, -1, -1]),
    validPseudoMask: tf.slice(b.validPseudoMask!, [start, 0, 0], [n, -1, -1]),
  }));
}

export function disposeBatch(b: UdaBatch): void {
  tf.dispose([b.srcImg, b.srcLabel, b.tgtImg, ...(b.validPseudoMask ? [b.validPseudoMask] : [])]);
}
