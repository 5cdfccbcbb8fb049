// Slice for wasm without the whole-input copy.
//
// tfjs-backend-wasm 4.22 implements Slice in JavaScript and starts by readSync(x), which
// copies the ENTIRE input out of the wasm heap into a fresh ArrayBuffer — so cropping
// [2,32,32,1024] out of a padded [2,68,68,1024] (every atrous ASPP branch's backward
// pass does this) cost ~200 ms instead of ~1 ms. This version reads the input through a
// view on the heap and copies contiguous runs: trailing axes that are taken whole are
// merged into one run, so typical NHWC crops copy whole rows of channels at a time.
// SplitV (concat's gradient) calls that same slow slice directly, so it is replaced too.
import * as tf from '@tensorflow/tfjs';

const NAME = 'Slice';
const SPLIT = 'SplitV';

/** The BackendWasm methods used here (not part of KernelBackend's public type). */
interface WasmHeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Builds the override around the currently registered wasm Slice (kept for strings). */
export function fastSliceWasm(): tf.KernelConfig {
  const original = tf.getKernel(NAME, 'wasm');
  if (!original) throw new Error(`fast Slice: the wasm backend has no '${NAME}' kernel to wrap`);
  const originalFn = original.kernelFunc;

  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' || x.shape.length === 0) return originalFn(args) as tf.TensorInfo;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const backend = args.backend as WasmHeapBackend;
    const out = backend.makeOutput(s, x.dtype); // may grow the heap: views are taken after it
    if (s.some((d) => d === 0)) return out;
    copyWindow(backend.typedArrayFromHeap(x), x.shape, backend.typedArrayFromHeap(out), b, s);
    return out;
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** SplitV through the same heap-view copies (strings go to the original). */
export function fastSplitVWasm(): tf.KernelConfig {
  const original = tf.getKernel(SPLIT, 'wasm');
  if (!original) throw new Error(`fast SplitV: the wasm backend has no '${SPLIT}' kernel to wrap`);
  const originalFn = original.kernelFunc;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo[] => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' || x.shape.length === 0) return originalFn(args) as tf.TensorInfo[];
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const backend = args.backend as WasmHeapBackend;
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = [...x.shape];
      size[ax] = n;
      const out = backend.makeOutput(size, x.dtype);
      // makeOutput may grow the heap, which detaches earlier views: take the source view afresh.
      if (n > 0 && size.every((d) => d > 0)) copyWindow(backend.typedArrayFromHeap(x), x.shape, backend.typedArrayFromHeap(out), begin, size);
      begin[ax] += n;
      return out;
    });
  };
  return { kernelName: SPLIT, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** Copies the window [begin, begin+size) of src (shape) into dst, run by contiguous run. */
export function copyWindow(src: ArrayLike<number> & { subarray(a: number, b: number): unknown }, shape: readonly number[], dst: { set(v: never, o: number): void }, begin: readonly number[], size: readonly number[]): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  // Axes from `inner` on are one contiguous run: all taken whole except possibly `inner`.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === shape[inner]) inner--;
  const run = size[inner] * strides[inner];
  const outer = inner; // axes [0, outer) are iterated
  const idx = new Array<number>(outer).fill(0);
  let o = 0;
  for (;;) {
    let offset = begin[inner] * strides[inner];
    for (let a = 0; a < outer; a++) offset += (begin[a] + idx[a]) * strides[a];
    dst.set(src.subarray(offset, offset + run) as never, o);
    o += run;
    let a = outer - 1;
    while (a >= 0 && ++idx[a] === size[a]) idx[a--] = 0;
    if (a < 0) break;
  }
}
