// Convolutions with PyTorch semantics on NHWC tensors: symmetric explicit padding,
// dilation, and depthwise (groups = channels).
import * as tf from '@tensorflow/tfjs';

export interface ConvOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
}

function explicitPad(p: number): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

/** Conv2d: x [B,H,W,Cin], w [kh,kw,Cin,Cout], optional bias [Cout]. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor | null, o: ConvOptions = {}): tf.Tensor4D {
  const stride = o.stride ?? 1;
  const dil = o.dilation ?? 1;
  const p = o.padding ?? 0;
  let y = tf.conv2d(x, w as tf.Tensor4D, stride, p === 0 ? 'valid' : explicitPad(p), 'NHWC', dil);
  if (b) y = tf.add(y, b);
  return y;
}

/** Depthwise Conv2d (groups = channels): w [kh,kw,C,1]. */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor | null, o: ConvOptions = {}): tf.Tensor4D {
  const stride = o.stride ?? 1;
  const dil = o.dilation ?? 1;
  const p = o.padding ?? 0;
  let y = tf.depthwiseConv2d(x, w as tf.Tensor4D, stride, p === 0 ? 'valid' : explicitPad(p), 'NHWC', dil);
  if (b) y = tf.add(y, b);
  return y;
}

/** Output size of a conv along one axis: floor((in + 2p − d(k−1) − 1)/s) + 1. */
export function convOutSize(inSize: number, k: number, s = 1, p = 0, d = 1): number {
  return Math.floor((inSize + 2 * p - d * (k - 1) - 1) / s) + 1;
}
