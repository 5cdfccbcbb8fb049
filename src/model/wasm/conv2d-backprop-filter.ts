// Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none), i.e. the
// filter gradient of every ordinary conv (patch embeddings, spatial reduction, head convs).
//
//   dW[i, j, ci, co] = Σ_{b, oh, ow} xpad[b, oh·s + i, ow·s + j, ci] · dy[b, oh, ow, co]
//
// One batch-1 matmul per kernel tap: dyᵀ [Cout, B·OH·OW] (transposed once) times the
// tap's strided window of the padded input, which in NHWC is already [B·OH·OW, Cin].
// Every matmul has a long inner dimension and no transpose flags, so it takes XNNPACK's
// fast path, and only one window is alive at a time (no k²-times-larger im2col buffer).
// The [kh, kw, Cout, Cin] result is transposed once at the end.
import * as tf from '@tensorflow/tfjs';
import { pair, withScratch } from './wasm-ops.js';

const NAME = 'Conv2DBackpropFilter';

export class WasmConvGradError extends Error {
  constructor(kernel: string, message: string) {
    super(`${kernel} (wasm): ${message}`);
    this.name = 'WasmConvGradError';
  }
}

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as unknown as Attrs;
  if (a.dataFormat === 'NCHW') throw new WasmConvGradError(NAME, "dataFormat 'NCHW' is not supported; the model is NHWC");
  const [kh, kw, cin, cout] = a.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [sh, sw] = pair(a.strides);
  const [b, oh, ow] = [info.batchSize, info.outHeight, info.outWidth];
  if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== cout) {
    throw new WasmConvGradError(NAME, `dy [${dy.shape}] does not match the conv output [${b},${oh},${ow},${cout}]`);
  }
  const rows = b * oh * ow;

  return withScratch(args.backend, NAME, (s) => {
    const dyT = s.transpose(s.reshape(dy, [rows, cout]), [1, 0]); // [Cout, N], once
    const { top, bottom, left, right } = info.padInfo;
    const padded = s.pad(x, [
      [0, 0],
      [top, Math.max(bottom, 0)],
      [left, Math.max(right, 0)],
      [0, 0],
    ]);
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // The tap's window in NHWC is [N, Cin] with whole channel rows: a cheap copy.
        const win = s.stridedWindow(padded, [0, i, j, 0], [b, oh, ow, cin], [1, sh, sw, 1]);
        const win2 = s.reshape(win, [rows, cin]);
        taps.push(s.matMul2d(dyT, win2)); // dWᵀ of this tap: [Cout, Cin]
        s.free(win, win2);
      }
    }
    const stacked = taps.length === 1 ? taps[0] : s.run('Concat', taps, { axis: 0 }); // [kh·kw·Cout, Cin]
    const perTap = s.reshape(stacked, [kh, kw, cout, cin]);
    return s.transpose(perTap, [0, 1, 3, 2]);
  });
}

export const conv2dBackpropFilterWasm: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
