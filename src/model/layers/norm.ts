// LayerNorm over the last axis and BatchNorm over NHWC channels, PyTorch semantics.
import * as tf from '@tensorflow/tfjs';
import type { ParamScope, ParamSource } from '../params.js';
import type { ForwardMode } from './forward-mode.js';

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  });
}

/** Declares a LayerNorm's weight/bias under `scope` and returns their names. */
export function declareLayerNorm(scope: ParamScope, dim: number): { weight: string; bias: string } {
  return {
    weight: scope.param('weight', [dim], 'vector', { kind: 'ones' }),
    bias: scope.param('bias', [dim], 'vector', { kind: 'zeros' }),
  };
}

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** Declares a BatchNorm2d (weight, bias, running_mean, running_var, num_batches_tracked). */
export function declareBatchNorm(scope: ParamScope, channels: number): string {
  scope.param('weight', [channels], 'vector', { kind: 'ones' });
  scope.param('bias', [channels], 'vector', { kind: 'zeros' });
  scope.buffer('running_mean', [channels], { kind: 'zeros' });
  scope.buffer('running_var', [channels], { kind: 'ones' });
  scope.buffer('num_batches_tracked', [], { kind: 'zeros' }, 'int32');
  return scope.prefix;
}

/**
 * BatchNorm2d on NHWC. In 'batch' mode normalises with the biased batch variance and
 * records (mean, unbiased variance) for the running-stat update; in 'running' mode uses
 * the stored statistics.
 */
export function batchNorm(x: tf.Tensor4D, p: ParamSource, prefix: string, mode: ForwardMode): tf.Tensor4D {
  const gamma = p.get(`${prefix}.weight`);
  const beta = p.get(`${prefix}.bias`);
  if (mode.bn === 'running') {
    const mean = p.get(`${prefix}.running_mean`);
    const v = p.get(`${prefix}.running_var`);
    return tf.tidy(() => tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(v, BN_EPS))), gamma), beta) as tf.Tensor4D);
  }
  const { y, mean, variance } = batchNormTrain(x, gamma, beta);
  if (mode.bnUpdates) {
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    mode.bnUpdates.push({
      prefix,
      mean: tf.keep(mean.clone()) as tf.Tensor1D,
      varUnbiased: tf.keep(tf.mul(variance, n / Math.max(n - 1, 1))) as tf.Tensor1D,
    });
  }
  tf.dispose([mean, variance]);
  return y;
}

/**
 * Batch-statistics BatchNorm with PyTorch's fused backward (native_batch_norm_backward):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/σ · (dy − dβ/N − x̂·dγ/N)
 * instead of differentiating moments → sub → div → mul → add op by op, which costs about
 * twice the full-size passes and reductions. The forward is the same op sequence as
 * before. The batch mean/variance come back detached (they feed only the running stats);
 * the caller disposes them.
 */
function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): { y: tf.Tensor4D; mean: tf.Tensor; variance: tf.Tensor } {
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | null = null;
  const op = tf.customGrad(((xIn: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xIn, [0, 1, 2]);
    const sigma = tf.sqrt(tf.add(variance, BN_EPS));
    const xHat = tf.div(tf.sub(xIn, mean), sigma);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save([xHat, sigma, g]);
    return {
      value: tf.add(tf.mul(xHat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, sd, gm] = saved;
        const n = dy.shape[0]! * dy.shape[1]! * dy.shape[2]!;
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        const centred = tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n)));
        return [tf.mul(centred, tf.div(gm, sd)), dGamma, dBeta];
      },
    };
  }) as any) as (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor4D;
  const y = op(x, gamma, beta);
  const { mean, variance } = stats!;
  return { y, mean, variance };
}
