// This rank's TrainBatch (host arrays, see src/data/README.md) → UdaBatch tensors, split into
// micro-batches of `microSize` images. Labels and masks arrive as Uint8Array; the model wants int32.
import * as tf from '@tensorflow/tfjs';
import type { TrainBatch } from '../data/index.js';
import type { UdaBatch } from '../model/uda/batch-check.js';

export function microBatchesOf(b: TrainBatch, microSize: number): UdaBatch[] {
  if (microSize < 1 || b.size % microSize !== 0) throw new RangeError(`micro-batch size ${microSize} does not divide this rank's batch of ${b.size}`);
  const { height: h, width: w } = b;
  const px = h * w;
  const out: UdaBatch[] = [];
  for (let start = 0; start < b.size; start += microSize) {
    const n = microSize;
    out.push({
      srcImg: tf.tensor4d(b.source.img.subarray(start * px * 3, (start + n) * px * 3), [n, h, w, 3]),
      srcLabel: tf.tensor3d(Int32Array.from(b.source.label.subarray(start * px, (start + n) * px)), [n, h, w], 'int32'),
      tgtImg: tf.tensor4d(b.target.img.subarray(start * px * 3, (start + n) * px * 3), [n, h, w, 3]),
      validPseudoMask: tf.tensor3d(Int32Array.from(b.target.validPseudoMask.subarray(start * px, (start + n) * px)), [n, h, w], 'int32'),
    });
  }
  return out;
}

export function disposeUdaBatch(b: UdaBatch): void {
  tf.dispose([b.srcImg, b.srcLabel, b.tgtImg, ...(b.validPseudoMask ? [b.validPseudoMask] : [])]);
}
