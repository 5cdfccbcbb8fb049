// Row gather x[idx] with a scatter-add gradient. tf.gather's own gradient goes through
// UnsortedSegmentSum, which the cpu backend runs as one masked reduction per segment
// (14 s for a 512x256 table) and the wasm backend does not have at all; ScatterNd is a
// single linear pass on both, and sums duplicate indices exactly like the segment sum.
import * as tf from '@tensorflow/tfjs';

export class GatherIndexError extends Error {
  override name = 'GatherIndexError';
}

/** x [N, D] → [idx.length, D]; differentiable w.r.t. x. */
export function gatherRows(x: tf.Tensor2D, idx: Int32Array): tf.Tensor2D {
  const [N, D] = x.shape;
  for (let i = 0; i < idx.length; i++) {
    if (!(idx[i] >= 0 && idx[i] < N)) throw new GatherIndexError(`row index ${idx[i]} at position ${i} is outside [0, ${N})`);
  }
  const op = tf.customGrad(((table: tf.Tensor2D) => ({
    value: tf.tidy(() => tf.gather(table, tf.tensor1d(idx, 'int32'))),
    gradFunc: (dy: tf.Tensor) =>
      tf.tidy(() => (idx.length === 0 ? tf.zeros([N, D]) : tf.scatterND(tf.tensor2d(idx, [idx.length, 1], 'int32'), dy, [N, D]))),
  })) as any);
  return op(x) as tf.Tensor2D;
}
