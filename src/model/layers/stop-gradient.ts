// TF.js has no stop_gradient op; a custom gradient of zeros gives PyTorch's .detach().
import * as tf from '@tensorflow/tfjs';

const detachOp = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as any);

export function stopGradient<T extends tf.Tensor>(x: T): T {
  return detachOp(x) as T;
}
