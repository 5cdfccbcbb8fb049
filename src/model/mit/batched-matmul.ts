// 3-D batched matmul [G, n, k] × [G, k, m] → [G, n, m] that stays on the fast kernel
// path of the wasm backend in the forward AND the backward pass.
//
// Why: tfjs-backend-wasm 4.22 sends BatchMatMul to XNNPACK only when the batch is 1 and
// neither operand is transposed; otherwise it runs a scalar loop. Autograd of tf.matMul
// uses transpose flags, so the gradient here is written with explicit transposes instead.
//
// Splitting has a per-call cost, and XNNPACK gains little on narrow outputs. Measured
// here (wasm, CPU ms, batched vs split): G=5 256×64×256 29 vs 12; G=2 1024×64×256 33 vs
// 10; G=8 1024×64×1024 1860 vs 394; but G=5 256×64×64 5.8 vs 12.6 and G=8 256×256×64
// 30 vs 77. Hence: split on wasm only for outputs ≥ 128 columns and ≥ 2M MACs per group.
// On other backends one batched call is fastest.
import * as tf from '@tensorflow/tfjs';

const MIN_SPLIT_COLS = 128;
const MIN_SPLIT_MACS = 1 << 21;

/** Whether [G,n,k]×[G,k,m] should run as G batch-1 calls on the current backend. */
export function shouldSplitGroups(groups: number, n: number, k: number, m: number): boolean {
  return groups > 1 && tf.getBackend() === 'wasm' && m >= MIN_SPLIT_COLS && n * k * m >= MIN_SPLIT_MACS;
}

/** split: true/false forces the choice; undefined decides per call by shape. */
function matMulGroups(a: tf.Tensor3D, b: tf.Tensor3D, split: boolean | undefined): tf.Tensor3D {
  const [groups, n, k] = a.shape;
  if (groups === 1 || !(split ?? shouldSplitGroups(groups, n, k, b.shape[2]))) return tf.matMul(a, b);
  const as = tf.split(a, groups, 0) as tf.Tensor3D[];
  const bs = tf.split(b, groups, 0) as tf.Tensor3D[];
  const outs = as.map((ai, i) => tf.matMul(ai, bs[i]));
  const y = tf.concat(outs, 0) as tf.Tensor3D;
  tf.dispose([...as, ...bs, ...outs]);
  return y;
}

const swapLast = [0, 2, 1];

function withExplicitGrad(split: boolean | undefined): (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D {
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

const byShape = withExplicitGrad(undefined);
const whole = withExplicitGrad(false);
const perGroup = withExplicitGrad(true);

export interface BatchedMatMulOptions {
  /** Force one batch-1 matmul per group (true) or one batched call (false); default: shouldSplitGroups. */
  splitGroups?: boolean;
}

/** a [G, n, k] × b [G, k, m] → [G, n, m]; no broadcasting, no transpose flags. */
export function batchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D, o: BatchedMatMulOptions = {}): tf.Tensor3D {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`batchedMatMul: shapes [${a.shape}] × [${b.shape}] are not [G,n,k] × [G,k,m]`);
  }
  const f = o.splitGroups === undefined ? byShape : o.splitGroups ? perGroup : whole;
  return f(a, b);
}
