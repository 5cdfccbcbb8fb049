// Thing-class ImageNet feature distance (DAFormer's FD, as HRDA runs it with feature_scale 0.5):
// the student's last-stage context features are pulled towards those of the frozen ImageNet
// encoder, but only on cells whose downscaled source label is a "thing" class.
//   L_FD = λ · mean over masked cells of ‖f_S − f_I‖₂ (L2 over channels).
// Features are NHWC [B,h,w,C]; labels int32 [B,H,W] at full resolution.
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from './cross-entropy.js';
import { classMembershipMask, downscaleLabelRatioArray } from './label-downscale.js';

/** PiPa/DAFormer defaults (SPEC §1.2). */
export const FD_LAMBDA = 0.005;
export const FD_THING_CLASSES: readonly number[] = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18];
export const FD_MIN_RATIO = 0.75;

export class FeatureDistanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureDistanceError';
  }
}

/**
 * ‖d‖₂ over the last axis with torch.norm's backward: d/‖d‖, and 0 where ‖d‖ = 0 (the plain
 * sqrt chain would give 0·∞ = NaN there, e.g. when student and ImageNet features coincide).
 */
const channelL2Norm = tf.customGrad(((d: tf.Tensor, save: tf.GradSaveFunc) => {
  const norm = tf.sqrt(tf.sum(tf.square(d), -1));
  save([d, norm]);
  return {
    value: norm,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [d0, n0] = saved;
      const safe = tf.where(tf.greater(n0, 0), n0, tf.onesLike(n0));
      return tf.mul(d0, tf.expandDims(tf.div(dy, safe), -1));
    },
  };
}) as any) as (d: tf.Tensor) => tf.Tensor;

/**
 * Mean over cells with mask ≠ 0 of the channel L2 norm of fS − fI. fS, fI NHWC [B,h,w,C],
 * mask [B,h,w] (any dtype, 0/1). An empty mask gives 0 (PyTorch would give NaN), still
 * connected to fS so gradients are zeros rather than missing. Differentiable w.r.t. fS (and fI).
 */
export function maskedFeatDist(fS: tf.Tensor4D, fI: tf.Tensor4D, mask: tf.Tensor3D): tf.Scalar {
  if (!tf.util.arraysEqual(fS.shape, fI.shape)) {
    throw new FeatureDistanceError(`student features [${fS.shape}] and ImageNet features [${fI.shape}] differ in shape`);
  }
  const [b, h, w] = fS.shape;
  if (!tf.util.arraysEqual(mask.shape, [b, h, w])) {
    throw new FeatureDistanceError(`mask must be [${b},${h},${w}] to match features [${fS.shape}], got [${mask.shape}]`);
  }
  return tf.tidy(() => {
    const m = tf.cast(tf.notEqual(mask, 0), 'float32');
    const norm = channelL2Norm(tf.sub(fS, fI));
    const count = tf.sum(m);
    return tf.div(tf.sum(tf.mul(norm, m)), tf.maximum(count, 1)) as tf.Scalar;
  });
}

export interface FeatureDistanceOptions {
  lambda?: number;
  thingClasses?: readonly number[];
  minRatio?: number;
  numClasses?: number;
  ignoreIndex?: number;
}

export interface ThingMask {
  /** downscale_label_ratio result, int32 [B,h,w]. */
  labelsRescaled: Int32Array;
  /** 1 where labelsRescaled is a thing class, [B,h,w]. */
  mask: Uint8Array;
  shape: [number, number, number];
  scaleFactor: number;
}

/**
 * Which feature cells FD looks at. The scale factor is label width // feature width (as the
 * original computes it, from the last axis only); the resulting grid must match the features.
 */
export function thingMask(labels: Int32Array, labelShape: readonly [number, number, number], featHW: readonly [number, number], o: FeatureDistanceOptions = {}): ThingMask {
  const scaleFactor = Math.floor(labelShape[2] / featHW[1]);
  const r = downscaleLabelRatioArray(labels, labelShape, {
    scaleFactor,
    minRatio: o.minRatio ?? FD_MIN_RATIO,
    numClasses: o.numClasses ?? 19,
    ignoreIndex: o.ignoreIndex ?? IGNORE_INDEX,
  });
  if (r.shape[1] !== featHW[0] || r.shape[2] !== featHW[1]) {
    throw new FeatureDistanceError(
      `labels [${labelShape}] downscaled by ${scaleFactor} give a ${r.shape[1]}×${r.shape[2]} grid but the features are ${featHW[0]}×${featHW[1]}`,
    );
  }
  const mask = classMembershipMask(r.data, o.thingClasses ?? FD_THING_CLASSES);
  return { labelsRescaled: r.data, mask, shape: r.shape, scaleFactor };
}

/**
 * DACS.calc_feat_dist (HRDA, feature_scale 0.5): λ·maskedFeatDist(fS, fI, thing mask of labels).
 * Returns the weighted loss (`src.loss_imnet_feat_dist`) and the unweighted distance.
 * fI should come from the frozen ImageNet store (non-trainable variables → no gradient).
 * The labels are read to the host; call with host labels via `thingMask` if you have them.
 */
export function featureDistanceLoss(
  fS: tf.Tensor4D,
  fI: tf.Tensor4D,
  labels: tf.Tensor3D,
  o: FeatureDistanceOptions = {},
): { loss: tf.Scalar; featDist: tf.Scalar } {
  const tm = thingMask(labels.dataSync() as Int32Array, labels.shape, [fS.shape[1], fS.shape[2]], o);
  return tf.tidy(() => {
    const mask = tf.tensor3d(Int32Array.from(tm.mask), tm.shape, 'int32');
    const featDist = maskedFeatDist(fS, fI, mask);
    // torch: self.fdist_lambda * feat_dist with a python float → float32(λ)·dist.
    const loss = tf.mul(featDist, tf.scalar(o.lambda ?? FD_LAMBDA)) as tf.Scalar;
    return { loss, featDist };
  });
}
