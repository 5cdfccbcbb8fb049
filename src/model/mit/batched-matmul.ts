// 3-D batched matmul [G, n, k] × [G, k, m] → [G, n, m] that stays on the fast kernel
// path of the wasm backend in the forward AND the backward pass.
//
// Why: tfjs-backend-wasm 4.22 sends BatchMatMul to XNNPACK only when the batch is 1 and
// neither operand is transposed; otherwise it runs a scalar loop several times slower
// (measured here: 4 × [4096,64]×[64,256] batched ≈ 4× slower than four batch-1 calls).
// Autograd of tf.matMul uses transpose flags, so the gradient here is written with
// explicit transposes instead. On other backends one batched call is fastest.
import * as tf from '@tensorflow/tfjs';

function matMulGroups(a: tf.Tensor3D, b: tf.Tensor3D, split: boolean): tf.Tensor3D {
  const groups = a.shape[0];
  if (groups === 1 || !split) return tf.matMul(a, b);
  const as = tf.split(a, groups, 0) as tf.Tensor3D[];
  const bs = tf.split(b, groups, 0) as tf.Tensor3D[];
  const outs = as.map((ai, i) => tf.matMul(ai, bs[i]));
  const y = tf.concat(outs, 0) as tf.Tensor3D;
  tf.dispose([...as, ...bs, ...outs]);
  return y;
}

const swapLast = [0, 2, 1];

function withExplicitGrad(split: boolean): (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D {
  return tf.customGrad(((a: tf.Tensor3D, b: tf.Tensor3D, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: matMulGroups(a, b, split),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as tf.Tensor3D[];
        return [
          matMulGroups(dy, tf.transpose(sb, swapLast), split), // dA = dY · Bᵀ
          matMulGroups(tf.transpose(sa, swapLast), dy, split), // dB = Aᵀ · dY
        ];
      },
    };
  }) as any) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
}

const whole = withExplicitGrad(false);
const perGroup = withExplicitGrad(true);

export interface BatchedMatMulOptions {
  /** Run one batch-1 matmul per group (default: only on the wasm backend). */
  splitGroups?: boolean;
}

/** a [G, n, k] × b [G, k, m] → [G, n, m]; no broadcasting, no transpose flags. */
export function batchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D, o: BatchedMatMulOptions = {}): tf.Tensor3D {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`batchedMatMul: shapes [${a.shape}] × [${b.shape}] are not [G,n,k] × [G,k,m]`);
  }
  const split = o.splitGroups ?? tf.getBackend() === 'wasm';
  return (split ? perGroup : whole)(a, b);
}
