// nn.Linear on the last axis of a tensor of any rank: kernel [in, out] (TF layout).
import * as tf from '@tensorflow/tfjs';

export function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.rank - 1];
  const outDim = w.shape[1]!;
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w as tf.Tensor2D);
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...lead, outDim]);
}
