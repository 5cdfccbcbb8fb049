// HRDAEncoderDecoder.encode_decode (pseudo-labels and test, SPEC §2.4): the whole image at
// the LR scale, and at the HR scale a grid of overlapping detail windows (hr_crop_size,
// stride crop/2) stacked into one batch; HRDA fusion; bilinear resize to the input size.
import * as tf from '@tensorflow/tfjs';
import type { ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { resizeBilinear } from '../layers/resize.js';
import type { HrdaHead } from '../heads/hrda-head.js';
import { cropNhwc } from './crop-box.js';
import { slideWindowBoxes } from './slide-windows.js';
import { rescaleImage, type FeatureEncoder } from './encoder.js';

export interface HrSlideOptions {
  /** HR window (hr_crop_size) and stride. */
  crop: readonly [number, number];
  stride: readonly [number, number];
}

/** Logits [B, H, W, K] at the input size. */
export function hrdaEncodeDecode(
  encoder: FeatureEncoder,
  head: HrdaHead,
  slide: HrSlideOptions,
  p: ParamSource,
  x: tf.Tensor4D,
  mode: ForwardMode,
): tf.Tensor4D {
  const { lrScale, hrScale } = head.geometry;
  return tf.tidy(() => {
    const lrFeats = encoder.forward(p, rescaleImage(x, lrScale), mode);
    const hrImg = rescaleImage(x, hrScale);
    const boxes = slideWindowBoxes(hrImg.shape[1], hrImg.shape[2], slide.crop, slide.stride);
    const windows = boxes.length === 1 ? cropNhwc(hrImg, boxes[0]) : (tf.concat(boxes.map((b) => cropNhwc(hrImg, b)), 0) as tf.Tensor4D);
    const hrFeats = encoder.forward(p, windows, mode);
    const { fused } = head.forward(p, lrFeats, { feats: hrFeats, boxes }, null, mode);
    return resizeBilinear(fused, [x.shape[1], x.shape[2]]);
  });
}
