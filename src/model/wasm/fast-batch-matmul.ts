// BatchMatMul for wasm that keeps every product on XNNPACK's fast path.
//
// tfjs-backend-wasm 4.22 sends a matmul to XNNPACK only when its batch is 1 and neither
// operand is transposed; anything else runs a scalar loop (~1 GFLOP/s here). Autograd
// asks for exactly those: the gradient of y = x·W is dx = dy·Wᵀ (transposeB) and
// dW = xᵀ·dy (transposeA), and attention is batched over heads. This kernel wraps the
// original: transposes are done explicitly (wasm's Transpose is fast), a batch against
// one shared matrix becomes one tall matmul, and an equal-batch product is one batch-1
// matmul per group. Other broadcast patterns go to the original kernel unchanged.
import * as tf from '@tensorflow/tfjs';
import { wasmKernelFunc, withScratch, type WasmScratch } from './wasm-ops.js';

const NAME = 'BatchMatMul';

const size = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/** Builds the override around the currently registered wasm BatchMatMul. */
export function fastBatchMatMulWasm(): tf.KernelConfig {
  const original = tf.getKernel(NAME, 'wasm');
  if (!original) wasmKernelFunc(NAME, 'fast BatchMatMul'); // throws the explanatory error
  const originalFn = original!.kernelFunc;

  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const ga = size(batchA);
    const gb = size(batchB);
    const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
    const fastAlready = !transposeA && !transposeB && ga === 1 && gb === 1;
    if (fastAlready || !(sameBatch || ga === 1 || gb === 1) || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return originalFn(args) as tf.TensorInfo;
    }
    return withScratch(args.backend, 'fast BatchMatMul', (s) => {
      const a3 = plain(s, a, ga, transposeA); // [ga, m, k]
      const b3 = plain(s, b, gb, transposeB); // [gb, k, n]
      const [m, k] = [a3.shape[1], a3.shape[2]];
      const n = b3.shape[2];
      const outBatch = batchA.length >= batchB.length ? (ga >= gb ? batchA : batchB) : batchB;
      const one = (x: tf.TensorInfo, y: tf.TensorInfo) => s.runWith(originalFn, { a: x, b: y }, { transposeA: false, transposeB: false });
      let y: tf.TensorInfo;
      if (gb === 1) {
        // Every group times the same matrix: one tall [ga·m, k] × [k, n] product.
        y = one(s.reshape(a3, [1, ga * m, k]), b3);
      } else {
        const groups: tf.TensorInfo[] = [];
        for (let g = 0; g < gb; g++) {
          const ag = ga === 1 ? a3 : s.run('Slice', { x: a3 }, { begin: [g, 0, 0], size: [1, m, k] });
          const bg = s.run('Slice', { x: b3 }, { begin: [g, 0, 0], size: [1, k, n] });
          groups.push(one(ag, bg));
          s.free(bg);
          if (ag !== a3) s.free(ag);
        }
        y = groups.length === 1 ? groups[0] : s.run('Concat', groups, { axis: 0 });
      }
      return s.reshape(y, [...outBatch, m, n]);
    });
  };

  return { kernelName: NAME, backendName: 'wasm', setupFunc: original!.setupFunc, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** x as [groups, rows, cols] of the product, transposed explicitly if asked. */
function plain(s: WasmScratch, x: tf.TensorInfo, groups: number, transposed: boolean): tf.TensorInfo {
  const [r, c] = x.shape.slice(-2);
  const x3 = s.reshape(x, [groups, r, c]);
  return transposed ? s.transpose(x3, [0, 2, 1]) : x3;
}
