// HRDAEncoderDecoder training forward (_forward_train_features + HRDAHead.forward with a
// crop box, SPEC §2.2): the whole image at the LR scale, one HR detail crop, both through
// the same backbone, then the HRDA head. The crop box is given explicitly (drawn by the
// caller), in pixels of the HR-scaled image, the same box for the whole batch.
import * as tf from '@tensorflow/tfjs';
import type { ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import type { HrdaHead, HrdaOutput } from '../heads/hrda-head.js';
import { cropNhwc, type CropBox } from './crop-box.js';
import { rescaleImage, type FeatureEncoder } from './encoder.js';

export interface TrainForwardOutput extends HrdaOutput {
  /** Backbone levels of the LR (context) image — the features FD uses. */
  lrFeats: tf.Tensor4D[];
  /** Backbone levels of the HR detail crop — the features the PiPa heads use. */
  hrFeats: tf.Tensor4D[];
}

export function hrdaTrainForward(
  encoder: FeatureEncoder,
  head: HrdaHead,
  p: ParamSource,
  x: tf.Tensor4D,
  box: CropBox,
  mode: ForwardMode,
): TrainForwardOutput {
  const { lrScale, hrScale } = head.geometry;
  return tf.tidy(() => {
    // Scales in ascending order, as the original loops over them: LR first, then HR.
    const lrFeats = encoder.forward(p, rescaleImage(x, lrScale), mode);
    const hrFeats = encoder.forward(p, cropNhwc(rescaleImage(x, hrScale), box), mode);
    const out = head.forward(p, lrFeats, { feats: hrFeats }, box, mode);
    return { ...out, lrFeats, hrFeats };
  });
}
