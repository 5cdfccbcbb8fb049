// GELU in the exact erf form PyTorch's nn.GELU uses (not the tanh approximation).
import * as tf from '@tensorflow/tfjs';

export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}
