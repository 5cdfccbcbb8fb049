// LayerNorm over the last axis and BatchNorm over NHWC channels, PyTorch semantics.
import * as tf from '@tensorflow/tfjs';
import type { ParamScope, ParamSource } from '../params.js';
import type { ForwardMode } from './forward-mode.js';
import { stopGradient } from './stop-gradient.js';

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
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  if (mode.bnUpdates) {
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    const unbiased = tf.mul(stopGradient(variance), n / Math.max(n - 1, 1)) as tf.Tensor1D;
    mode.bnUpdates.push({
      prefix,
      mean: tf.keep(stopGradient(mean).clone()) as tf.Tensor1D,
      varUnbiased: tf.keep(unbiased),
    });
  }
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPS))), gamma), beta) as tf.Tensor4D;
}
