// Sum and Mean over LEADING axes for wasm: column sums of x viewed as [N, C].
//
// tfjs-backend-wasm 4.22 reduces only innermost axes, so a reduction over [0, 1, 2] of an
// NHWC tensor — BatchNorm's batch statistics and every bias/BN gradient — first transposes
// the whole tensor with a slow generic transpose (~15 ms per 2M floats here). Here one
// pass over a heap view adds rows into a float64 accumulator (faster than the transpose
// and than a ones·x GEMV, which repacks x; and no less accurate than float32 sums).
// Other reductions go to the original kernels.
import * as tf from '@tensorflow/tfjs';

interface HeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

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
    const backend = args.backend as HeapBackend;
    const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest, 'float32');
    const acc = new Float64Array(c);
    const src = backend.typedArrayFromHeap(x); // views taken after makeOutput (heap growth)
    for (let r = 0, o = 0; r < n; r++, o += c) for (let j = 0; j < c; j++) acc[j] += src[o + j];
    const dst = backend.typedArrayFromHeap(out);
    const scale = name === 'Mean' ? n : 1;
    for (let j = 0; j < c; j++) dst[j] = acc[j] / scale;
    return out;
  };
  return { kernelName: name, backendName: 'wasm', setupFunc: original.setupFunc, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

export const fastSumWasm = (): tf.KernelConfig => build('Sum');
export const fastMeanWasm = (): tf.KernelConfig => build('Mean');
