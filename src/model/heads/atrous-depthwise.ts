// Dilated depthwise convolution that TF.js can differentiate. TF.js refuses gradients of
// depthwiseConv2d with dilation > 1, so for d > 1 we use the classic atrous identity
// (what TensorFlow itself does): space-to-batch by d, an undilated conv, batch-to-space.
// Output o sums x_pad[o + d·k]; after space-to-batch, sub-image r holds x_pad[i·d + r],
// so an undilated conv there computes exactly those taps.
import * as tf from '@tensorflow/tfjs';
import { depthwiseConv2d } from '../layers/conv.js';

export interface AtrousOptions {
  padding?: number;
  dilation?: number;
}

/** Depthwise conv, stride 1, symmetric zero padding p, dilation d: x [B,H,W,C], w [k,k,C,1]. */
export function atrousDepthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor, o: AtrousOptions = {}): tf.Tensor4D {
  const d = o.dilation ?? 1;
  const p = o.padding ?? 0;
  if (d === 1) return depthwiseConv2d(x, w, null, { padding: p });
  const k = w.shape[0];
  if (w.shape[1] !== k) throw new Error(`atrousDepthwiseConv2d: square kernels only, got [${w.shape}]`);
  const [, h, wd] = x.shape;
  const outH = h + 2 * p - d * (k - 1);
  const outW = wd + 2 * p - d * (k - 1);
  if (outH <= 0 || outW <= 0) throw new Error(`atrousDepthwiseConv2d: ${h}×${wd} input is too small for k=${k}, d=${d}, p=${p}`);
  // Extra bottom/right padding so each padded axis is a multiple of d; cropped off after.
  const extraH = (d - ((h + 2 * p) % d)) % d;
  const extraW = (d - ((wd + 2 * p) % d)) % d;
  return tf.tidy(() => {
    const sub = tf.spaceToBatchND(x, [d, d], [
      [p, p + extraH],
      [p, p + extraW],
    ]) as tf.Tensor4D;
    const y = depthwiseConv2d(sub, w, null);
    return tf.batchToSpaceND(y, [d, d], [
      [0, extraH],
      [0, extraW],
    ]) as tf.Tensor4D;
  });
}
