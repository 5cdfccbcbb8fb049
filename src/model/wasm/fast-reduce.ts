// Sum and Mean over LEADING axes for wasm, as a GEMV: ones[1, N] · x[N, C].
//
// tfjs-backend-wasm 4.22 reduces only innermost axes, so a reduction over [0, 1, 2] of an
// NHWC tensor — BatchNorm's batch statistics and every bias/BN gradient — first transposes
// the whole tensor with a slow generic transpose (~15 ms per 2M floats here). A GEMV reads
// x once on XNNPACK's fast path. Other reductions go to the original kernels.
import * as tf from '@tensorflow/tfjs';
import { withScratch } from './wasm-ops.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** k if `axes` are exactly the first k axes of a rank-r tensor with 0 < k < r, else 0. */
function leadingAxes(axis: number | number[], shape: number[]): number {
  const axes = [...tf.util.parseAxisParam(axis, shape)].sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= shape.length || !axes.every((a, i) => a === i)) return 0;
  return k;
}

function build(name: 'Sum' | 'Mean'): tf.KernelConfig {
  const original = tf.getKernel(name, 'wasm');
  if (!original) throw new Error(`fast ${name}: the wasm backend has no '${name}' kernel to wrap`);
  const originalFn = original.kernelFunc;
  const kernelFunc = (args: Args): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const k = x.dtype === 'float32' ? leadingAxes(axis, x.shape) : 0;
    if (k === 0 || x.shape.some((d) => d === 0)) return originalFn(args) as tf.TensorInfo;
    const n = x.shape.slice(0, k).reduce((p, d) => p * d, 1);
    const rest = x.shape.slice(k);
    const c = rest.reduce((p, d) => p * d, 1);
    return withScratch(args.backend, `fast ${name}`, (s) => {
      let y = s.columnSums(s.reshape(x, [n, c])); // [1, C]
      if (name === 'Mean') y = s.run('RealDiv', { a: y, b: s.run('Fill', {}, { shape: [], value: n, dtype: 'float32' }) });
      return s.reshape(y, keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest);
    });
  };
  return { kernelName: name, backendName: 'wasm', setupFunc: original.setupFunc, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

export const fastSumWasm = (): tf.KernelConfig => build('Sum');
export const fastMeanWasm = (): tf.KernelConfig => build('Mean');
