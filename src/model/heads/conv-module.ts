// mmcv ConvModule as the DAFormer/HRDA heads use it: conv (no bias, since a norm follows)
// → BatchNorm → ReLU, and the depthwise-separable pair built from two of them.
// Keys: `<prefix>.conv.weight`, `<prefix>.bn.{weight,bias,running_mean,running_var,num_batches_tracked}`.
import * as tf from '@tensorflow/tfjs';
import type { ParamScope, ParamSource } from '../params.js';
import { conv2d } from '../layers/conv.js';
import { batchNorm, declareBatchNorm } from '../layers/norm.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { atrousDepthwiseConv2d } from './atrous-depthwise.js';

export interface ConvModuleSpec {
  prefix: string;
  kernel: number;
  padding: number;
  dilation: number;
  /** groups = channels (in = out). */
  depthwise: boolean;
}

export interface ConvModuleOptions {
  padding?: number;
  dilation?: number;
  depthwise?: boolean;
}

/**
 * mmcv initialises ConvModule convs with kaiming_normal(mode='fan_out', relu):
 * std = sqrt(2 / fan_out), fan_out = weight.size(0)·kh·kw (torch's rule, which does not
 * divide by groups — so a depthwise conv uses C·k·k).
 */
function kaimingFanOutStd(outChannels: number, kernel: number): number {
  return Math.sqrt(2 / (outChannels * kernel * kernel));
}

export function declareConvModule(
  scope: ParamScope,
  inChannels: number,
  outChannels: number,
  kernel: number,
  o: ConvModuleOptions = {},
): ConvModuleSpec {
  const depthwise = o.depthwise ?? false;
  if (depthwise && inChannels !== outChannels) {
    throw new Error(`${scope.prefix}: a depthwise ConvModule needs in = out channels, got ${inChannels} → ${outChannels}`);
  }
  const std = kaimingFanOutStd(outChannels, kernel);
  const conv = scope.child('conv');
  if (depthwise) conv.param('weight', [outChannels, 1, kernel, kernel], 'depthwise', { kind: 'normal', std });
  else conv.param('weight', [outChannels, inChannels, kernel, kernel], 'conv', { kind: 'normal', std });
  declareBatchNorm(scope.child('bn'), outChannels);
  return { prefix: scope.prefix, kernel, padding: o.padding ?? 0, dilation: o.dilation ?? 1, depthwise };
}

/** conv → BN → ReLU on NHWC. */
export function convModule(p: ParamSource, spec: ConvModuleSpec, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  return tf.tidy(() => {
    const w = p.get(`${spec.prefix}.conv.weight`);
    const opts = { padding: spec.padding, dilation: spec.dilation };
    const y = spec.depthwise ? atrousDepthwiseConv2d(x, w, opts) : conv2d(x, w, null, opts);
    return tf.relu(batchNorm(y, p, `${spec.prefix}.bn`, mode));
  });
}

export interface SeparableConvSpec {
  depthwise: ConvModuleSpec;
  pointwise: ConvModuleSpec;
}

/** mmcv DepthwiseSeparableConvModule: `<prefix>.depthwise_conv` (k×k, groups=C) then `<prefix>.pointwise_conv` (1×1). */
export function declareSeparableConvModule(
  scope: ParamScope,
  inChannels: number,
  outChannels: number,
  kernel: number,
  o: { padding: number; dilation: number },
): SeparableConvSpec {
  return {
    depthwise: declareConvModule(scope.child('depthwise_conv'), inChannels, inChannels, kernel, { ...o, depthwise: true }),
    pointwise: declareConvModule(scope.child('pointwise_conv'), inChannels, outChannels, 1),
  };
}

export function separableConvModule(p: ParamSource, spec: SeparableConvSpec, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  return tf.tidy(() => convModule(p, spec.pointwise, convModule(p, spec.depthwise, x, mode), mode));
}
