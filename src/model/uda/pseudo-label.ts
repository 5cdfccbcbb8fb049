// Teacher pseudo-labels and their quality weight (DACS.forward_train, SPEC §1.3 step 5):
//   p = max softmax, ŷ = argmax;
//   q = #(p ≥ threshold over the WHOLE batch) / numel — ONE scalar, broadcast to [B,H,W];
//   then rows zeroed (pseudo_weight_ignore_top/bottom) and/or times valid_pseudo_mask.
// q is taken before any masking. No gradient flows here (the teacher is outside the closure).
import * as tf from '@tensorflow/tfjs';

/** DACS pseudo_threshold. */
export const PSEUDO_THRESHOLD = 0.968;

export class PseudoLabelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PseudoLabelError';
  }
}

export interface PseudoLabelOptions {
  threshold?: number;
  /** [B,H,W] 0/1 (crop_pseudo_margins after crop/flip); multiplies the weight. */
  validMask?: tf.Tensor3D;
  /** Rows zeroed at the top / bottom of every image (pseudo_weight_ignore_top/bottom). */
  ignoreTop?: number;
  ignoreBottom?: number;
}

export interface PseudoLabels {
  /** int32 [B,H,W] argmax class. */
  label: tf.Tensor3D;
  /** float32 [B,H,W] max softmax probability. */
  prob: tf.Tensor3D;
  /** float32 [B,H,W] per-pixel loss weight of the target pixels. */
  weight: tf.Tensor3D;
  /** The scalar q (float64, as the original's python float). */
  fractionConfident: number;
}

/** From teacher logits NHWC [B,H,W,C]. The caller owns the three tensors. */
export function pseudoLabels(teacherLogits: tf.Tensor4D, o: PseudoLabelOptions = {}): PseudoLabels {
  const [b, h, w] = teacherLogits.shape;
  const top = o.ignoreTop ?? 0;
  const bottom = o.ignoreBottom ?? 0;
  if (!Number.isInteger(top) || !Number.isInteger(bottom) || top < 0 || bottom < 0) {
    throw new PseudoLabelError(`ignoreTop/ignoreBottom must be non-negative integers, got ${top}/${bottom}`);
  }
  if (o.validMask && !tf.util.arraysEqual(o.validMask.shape, [b, h, w])) {
    throw new PseudoLabelError(`validMask must be [${b},${h},${w}] like the teacher logits [${teacherLogits.shape}], got [${o.validMask.shape}]`);
  }
  const { label, prob, count } = tf.tidy(() => {
    const softmax = tf.softmax(teacherLogits, -1);
    const prob = tf.max(softmax, -1) as tf.Tensor3D;
    const label = tf.argMax(softmax, -1) as tf.Tensor3D;
    // torch compares a float32 tensor with the float32 rounding of the python threshold; so does this.
    const count = tf.sum(tf.cast(tf.greaterEqual(prob, tf.scalar(o.threshold ?? PSEUDO_THRESHOLD)), 'int32'));
    return { label, prob, count };
  });
  const fractionConfident = count.dataSync()[0] / (b * h * w);
  count.dispose();
  const weight = tf.tidy(() => {
    let wt: tf.Tensor = tf.fill([b, h, w], fractionConfident, 'float32');
    if (top > 0 || bottom > 0) wt = tf.mul(wt, rowKeepMask(h, w, top, bottom));
    if (o.validMask) wt = tf.mul(wt, tf.cast(o.validMask, 'float32'));
    return wt as tf.Tensor3D;
  });
  return { label, prob, weight, fractionConfident };
}

/** [1,H,W] float32: 0 on the first `top` and last `bottom` rows, 1 elsewhere. */
function rowKeepMask(h: number, w: number, top: number, bottom: number): tf.Tensor3D {
  const rows = new Float32Array(h);
  for (let y = 0; y < h; y++) rows[y] = y < top || y >= h - bottom ? 0 : 1;
  return tf.tidy(() => tf.tile(tf.tensor3d(rows, [1, h, 1]), [1, 1, w]) as tf.Tensor3D);
}
