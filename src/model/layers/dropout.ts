// Stochastic layers: Dropout2d (whole channels per sample) and DropPath (whole samples),
// both rescaling the kept part by 1/(1−p). Identity unless mode.stochastic.
import * as tf from '@tensorflow/tfjs';
import type { ForwardMode } from './forward-mode.js';

function keepMask(shape: number[], p: number, mode: ForwardMode): tf.Tensor {
  if (!mode.rng) throw new Error('stochastic forward needs mode.rng for dropout masks');
  const u = tf.randomUniform(shape, 0, 1, 'float32', mode.rng.seed31());
  return tf.div(tf.cast(tf.greaterEqual(u, p), 'float32'), 1 - p);
}

/** nn.Dropout2d on NHWC: one Bernoulli per (sample, channel). */
export function dropout2d(x: tf.Tensor4D, p: number, mode: ForwardMode): tf.Tensor4D {
  if (!mode.stochastic || p <= 0) return x;
  return tf.tidy(() => tf.mul(x, keepMask([x.shape[0], 1, 1, x.shape[3]], p, mode)) as tf.Tensor4D);
}

/** Stochastic depth: one Bernoulli per sample of a residual branch x [B, ...]. */
export function dropPath<T extends tf.Tensor>(x: T, p: number, mode: ForwardMode): T {
  if (!mode.stochastic || p <= 0) return x;
  const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
  return tf.tidy(() => tf.mul(x, keepMask(shape, p, mode)) as T);
}
