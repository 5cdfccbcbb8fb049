// Segmentation cross-entropy with mmseg's conventions (CrossEntropyLoss + BaseDecodeHead.losses):
//   * per-pixel CE with ignore_index 255 → ignored pixels contribute exactly 0;
//   * optionally times a pixel weight map;
//   * MEAN OVER ALL B·H·W PIXELS — ignored pixels stay in the denominator. This is what the
//     original trains with; the valid-pixel mean would change every loss value.
// Label convention for the whole losses/uda folder: int32 [B,H,W] (no channel axis), 255 = ignore.
// Logits are NHWC [B,H,W,C]. Everything here is differentiable w.r.t. the logits.
import * as tf from '@tensorflow/tfjs';
import type { CropBox } from '../hrda/crop-box.js';
import { resizeBilinear } from '../layers/resize.js';

export const IGNORE_INDEX = 255;
/** HRDAHead.hr_loss_weight in PiPa/HRDA: the detail-crop loss weight; the fused loss gets 1 − it. */
export const HR_LOSS_WEIGHT = 0.1;

export class SegLossShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegLossShapeError';
  }
}

function checkLabelShapes(where: string, logits: tf.Tensor4D, labels: tf.Tensor3D, weight?: tf.Tensor3D): void {
  const [b, h, w] = logits.shape;
  if (labels.rank !== 3 || labels.shape[0] !== b || labels.shape[1] !== h || labels.shape[2] !== w) {
    throw new SegLossShapeError(`${where}: labels must be int32 [${b},${h},${w}] to match logits [${logits.shape}], got [${labels.shape}]`);
  }
  if (labels.dtype !== 'int32') throw new SegLossShapeError(`${where}: labels must be int32, got ${labels.dtype}`);
  if (weight && !tf.util.arraysEqual(weight.shape, labels.shape)) {
    throw new SegLossShapeError(`${where}: pixel weight must be [${labels.shape}] like the labels, got [${weight.shape}]`);
  }
}

/**
 * F.cross_entropy(reduction='none', ignore_index): −log softmax(logits)[label] per pixel, 0 where
 * label == ignoreIndex. logits NHWC [B,H,W,C] at the label resolution → [B,H,W] float32.
 * Labels outside 0..C-1 other than ignoreIndex also give 0 (PyTorch would raise; the data
 * pipeline guarantees 0..C-1 ∪ {255}).
 */
export function crossEntropyMap(logits: tf.Tensor4D, labels: tf.Tensor3D, ignoreIndex = IGNORE_INDEX): tf.Tensor3D {
  checkLabelShapes('crossEntropyMap', logits, labels);
  const numClasses = logits.shape[3];
  return tf.tidy(() => {
    // logSoftmax subtracts the per-pixel max first, so logits of magnitude ~50 are safe.
    const logProb = tf.logSoftmax(logits, -1);
    // oneHot of ignoreIndex (≥ C) is all zeros, which is exactly "ignored → 0".
    const safeLabels = ignoreIndex < numClasses ? tf.where(tf.equal(labels, ignoreIndex), tf.fill(labels.shape, -1, 'int32'), labels) : labels;
    // int32 oneHot + cast: tfjs-backend-wasm 4.22 writes int32 bits into a float32 oneHot output.
    const pick = tf.cast(tf.oneHot(safeLabels as tf.Tensor3D, numClasses), 'float32');
    // pick·(−log p) rather than −(pick·log p): ignored pixels then get +0, not −0.
    return tf.sum(tf.mul(pick, tf.neg(logProb)), -1) as tf.Tensor3D;
  });
}

/** mmseg CrossEntropyLoss at the label resolution: mean over ALL pixels of CE·weight. */
export function crossEntropyLoss(logits: tf.Tensor4D, labels: tf.Tensor3D, weight?: tf.Tensor3D, ignoreIndex = IGNORE_INDEX): tf.Scalar {
  checkLabelShapes('crossEntropyLoss', logits, labels, weight);
  return tf.tidy(() => {
    const map = crossEntropyMap(logits, labels, ignoreIndex);
    return meanOverPixels(weight ? tf.mul(map, weight) : map);
  });
}

/**
 * Mean of a [B,H,W] map over all B·H·W entries, summed axis by axis (W, then H, then B). Backends
 * that accumulate a reduction sequentially in float32 (wasm) lose ~1e-4 relative accuracy on a
 * 1024² map in one flat sum; short staged sums stay near the cascade-summed torch value.
 */
function meanOverPixels(map: tf.Tensor): tf.Scalar {
  let s = map;
  for (let axis = map.rank - 1; axis >= 0; axis--) s = tf.sum(s, axis);
  return tf.div(s, tf.scalar(map.size)) as tf.Scalar;
}

/**
 * mmseg `accuracy` as BaseDecodeHead.losses calls it: 100·#(argmax == label)/numel(label).
 * Ignored pixels stay in the denominator and never count as correct. Not differentiable.
 */
export function segAccuracy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  checkLabelShapes('segAccuracy', logits, labels);
  return tf.tidy(() => {
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), labels), 'float32'));
    // Same float32 product as torch: count · float32(100 / numel).
    return tf.mul(correct, tf.scalar(100 / labels.size)) as tf.Scalar;
  });
}

export interface SegLoss {
  /** Scalar CE (mean over all pixels, weighted if a weight was given). Differentiable. */
  loss: tf.Scalar;
  /** acc_seg in percent. Inside tf.variableGrads, tf.keep() it if you want it after the closure. */
  acc: tf.Scalar;
}

/**
 * BaseDecodeHead.losses: bilinearly resize the logits (align_corners=False) to the label size,
 * then CE (+ accuracy). logits NHWC [B,h,w,C] at any resolution, labels int32 [B,H,W],
 * weight float32 [B,H,W] or undefined. The caller owns both returned tensors.
 */
export function segLoss(logits: tf.Tensor4D, labels: tf.Tensor3D, weight?: tf.Tensor3D, ignoreIndex = IGNORE_INDEX): SegLoss {
  const [, h, w] = labels.shape;
  const up = resizeBilinear(logits, [h, w], { alignCorners: false });
  try {
    const loss = crossEntropyLoss(up, labels, weight, ignoreIndex);
    const acc = segAccuracy(up, labels);
    return { loss, acc };
  } finally {
    up.dispose();
  }
}

/** A crop box (y1, y2, x1, x2) in label pixels, end-exclusive, as HRDA's get_crop_bbox returns it. */
export type { CropBox };

/** HRDA `crop`: [B,H,W] (or [B,H,W,C]) → [B, y2−y1, x2−x1(, C)]. */
export function cropMap<T extends tf.Tensor3D | tf.Tensor4D>(x: T, box: CropBox): T {
  const [y1, y2, x1, x2] = box;
  const [, h, w] = x.shape;
  if (!(0 <= y1 && y1 < y2 && y2 <= h && 0 <= x1 && x1 < x2 && x2 <= w)) {
    throw new SegLossShapeError(`cropMap: box (y1=${y1}, y2=${y2}, x1=${x1}, x2=${x2}) is not inside a ${h}×${w} map`);
  }
  const begin = [0, y1, x1, 0].slice(0, x.rank);
  const size = [-1, y2 - y1, x2 - x1, -1].slice(0, x.rank);
  return tf.slice(x, begin, size) as T;
}

export interface HrdaSegLossInput {
  /** Fused HRDA logits NHWC (any resolution; resized to the label size). */
  fused: tf.Tensor4D;
  /** Detail-crop logits NHWC (resized to the crop size). */
  hrSeg: tf.Tensor4D;
  /** int32 [B,H,W] full-resolution labels. */
  labels: tf.Tensor3D;
  /** Optional float32 [B,H,W] pixel weights (cropped with the same box for the detail loss). */
  weight?: tf.Tensor3D;
  /** Detail crop box in label pixels. */
  cropBox: CropBox;
  /** hr_loss_weight (0.1 in PiPa/HRDA). The fused loss gets 1 − hrLossWeight (lr_loss_weight = 0). */
  hrLossWeight?: number;
}

export interface HrdaSegLoss {
  /** (1 − λ_hr)·CE(fused) — `decode.loss_seg` before PiPa's pixel-contrast term is added. */
  fusedLoss: tf.Scalar;
  /** λ_hr·CE(hrSeg, crop(labels)) — `decode.hr.loss_seg`. */
  hrLoss: tf.Scalar;
  /** fusedLoss + hrLoss. */
  total: tf.Scalar;
  fusedAcc: tf.Scalar;
  hrAcc: tf.Scalar;
}

/** HRDAHead.losses with a detail crop (lr_loss_weight 0). The caller owns every returned tensor. */
export function hrdaSegLoss(input: HrdaSegLossInput): HrdaSegLoss {
  const hrW = input.hrLossWeight ?? HR_LOSS_WEIGHT;
  return tf.tidy(() => {
    const fused = segLoss(input.fused, input.labels, input.weight);
    const cropLabels = cropMap(input.labels, input.cropBox);
    const cropWeight = input.weight ? cropMap(input.weight, input.cropBox) : undefined;
    const hr = segLoss(input.hrSeg, cropLabels, cropWeight);
    // torch: loss_seg *= (1 − 0 − 0.1) with a python float → float32(0.9)·loss.
    const fusedLoss = tf.mul(fused.loss, tf.scalar(1 - hrW)) as tf.Scalar;
    const hrLoss = tf.mul(hr.loss, tf.scalar(hrW)) as tf.Scalar;
    return { fusedLoss, hrLoss, total: tf.add(fusedLoss, hrLoss) as tf.Scalar, fusedAcc: fused.acc, hrAcc: hr.acc };
  });
}
