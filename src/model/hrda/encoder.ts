// What the HRDA wrappers need from a backbone, and the image rescale they share.
import * as tf from '@tensorflow/tfjs';
import type { ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { resizeBilinear, scaledSize } from '../layers/resize.js';

export interface FeatureEncoder {
  /** Image batch [B,H,W,3] → the feature levels, NHWC. */
  forward(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[];
}

/** F.interpolate(img, scale_factor=s, bilinear, align_corners=False); identity at s = 1. */
export function rescaleImage(x: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return x;
  return resizeBilinear(x, scaledSize(x.shape[1], x.shape[2], s), { scaleFactor: s });
}
