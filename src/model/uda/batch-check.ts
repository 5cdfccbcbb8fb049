// A bad batch is rejected with a message naming the problem before any compute starts.
import type * as tf from '@tensorflow/tfjs';

export class BatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchError';
  }
}

/** Source + target images (NHWC, normalised) and labels of one (micro-)batch. */
export interface UdaBatch {
  srcImg: tf.Tensor4D;
  /** int32 [B,H,W] trainIds, 255 = ignore. */
  srcLabel: tf.Tensor3D;
  tgtImg: tf.Tensor4D;
  /** [B,H,W] 0/1: target pixels allowed to carry pseudo-label weight (crop_pseudo_margins). */
  validPseudoMask?: tf.Tensor3D;
}

/** Checks shapes, dtypes and label values; returns the source labels on the host. */
export function checkBatch(b: UdaBatch, numClasses: number, ignoreIndex = 255): Int32Array {
  const [n, h, w, c] = b.srcImg.shape;
  if (n === 0) throw new BatchError('empty source batch');
  if (c !== 3) throw new BatchError(`source images must be NHWC RGB, got shape [${b.srcImg.shape}]`);
  if (b.tgtImg.shape[0] === 0) throw new BatchError('empty target batch');
  if (b.tgtImg.shape[0] !== n) throw new BatchError(`source batch has ${n} images but target batch has ${b.tgtImg.shape[0]}`);
  if (b.tgtImg.shape[1] !== h || b.tgtImg.shape[2] !== w || b.tgtImg.shape[3] !== 3) {
    throw new BatchError(`target images [${b.tgtImg.shape}] must match source images [${b.srcImg.shape}]`);
  }
  if (b.srcLabel.dtype !== 'int32') throw new BatchError(`source labels must be int32, got ${b.srcLabel.dtype}`);
  if (b.srcLabel.shape[0] !== n || b.srcLabel.shape[1] !== h || b.srcLabel.shape[2] !== w) {
    throw new BatchError(`source labels [${b.srcLabel.shape}] do not match source images [${b.srcImg.shape}] (expected [${n},${h},${w}])`);
  }
  if (b.validPseudoMask && (b.validPseudoMask.shape[0] !== n || b.validPseudoMask.shape[1] !== h || b.validPseudoMask.shape[2] !== w)) {
    throw new BatchError(`validPseudoMask [${b.validPseudoMask.shape}] does not match the target images [${b.tgtImg.shape}]`);
  }
  for (const [name, t] of [['source images', b.srcImg], ['target images', b.tgtImg]] as const) {
    const d = t.dataSync();
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) throw new BatchError(`${name} contain a non-finite value at flat index ${i}`);
    }
  }
  const labels = b.srcLabel.dataSync() as Int32Array;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!((v >= 0 && v < numClasses) || v === ignoreIndex)) {
      const img = Math.floor(i / (h * w));
      const px = i % (h * w);
      throw new BatchError(
        `source label ${v} at image ${img}, row ${Math.floor(px / w)}, col ${px % w} is outside 0..${numClasses - 1} and not ${ignoreIndex} (ignore)`,
      );
    }
  }
  return labels;
}
