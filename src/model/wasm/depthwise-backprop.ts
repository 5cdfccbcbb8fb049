// The two depthwise-conv gradients tfjs-backend-wasm 4.22 lacks (Mix-FFN's 3×3 dwconv and
// the head's separable ASPP branches need both). Filter [kh, kw, C, M], output channel
// c·M + m, so both kernels view channels as [C, M].
//
// Filter: dW[i, j, c, m] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, c] · dy[b, oh, ow, c, m]
//   — per tap a strided window of the padded input times dy, summed over b, oh, ow
//   (a leading-axis Sum: fast once fast-reduce.ts replaced wasm's transpose-first Sum).
// Input: dx is the "full" correlation of dy with the spatially flipped filter: insert
//   s−1 zeros between dy's rows/cols (s > 1), pad by d·(k−1) − pad, then an ordinary
//   stride-1 depthwise conv with dilation d (wasm's own XNNPACK kernel) — and for M > 1
//   sum the M per-channel results.
import * as tf from '@tensorflow/tfjs';
import { WasmConvGradError } from './conv2d-backprop-filter.js';
import { pair, withScratch } from './wasm-ops.js';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface FilterAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface InputAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };
type Shape4 = [number, number, number, number];

const FILTER = 'DepthwiseConv2dNativeBackpropFilter';
const INPUT = 'DepthwiseConv2dNativeBackpropInput';

function convInfo(xShape: Shape4, filterShape: Shape4, a: { strides: FilterAttrs['strides']; dilations: FilterAttrs['dilations']; pad: Pad; dimRoundingMode?: FilterAttrs['dimRoundingMode'] }) {
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides, a.dilations, a.pad, a.dimRoundingMode, true, 'channelsLast');
}

function depthwiseBackpropFilter(args: Args): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as unknown as FilterAttrs;
  const [kh, kw, c, m] = a.filterShape;
  const info = convInfo(x.shape as Shape4, a.filterShape, a);
  const [sh, sw] = pair(a.strides);
  const [dh, dw] = pair(a.dilations);
  const [b, oh, ow] = [info.batchSize, info.outHeight, info.outWidth];
  if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== c * m) {
    throw new WasmConvGradError(FILTER, `dy [${dy.shape}] does not match the conv output [${b},${oh},${ow},${c * m}]`);
  }
  return withScratch(args.backend, FILTER, (s) => {
    const { top, bottom, left, right } = info.padInfo;
    const padded = s.pad(x, [
      [0, 0],
      [top, Math.max(bottom, 0)],
      [left, Math.max(right, 0)],
      [0, 0],
    ]);
    const dy5 = s.reshape(dy, [b, oh, ow, c, m]);
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const win = s.stridedWindow(padded, [0, i * dh, j * dw, 0], [b, oh, ow, c], [1, sh, sw, 1]);
        const win5 = s.reshape(win, [b, oh, ow, c, 1]);
        const prod = s.run('Multiply', { a: win5, b: dy5 }); // [B, OH, OW, C, M]
        const prod2 = s.reshape(prod, [b * oh * ow, c * m]);
        taps.push(s.run('Sum', { x: prod2 }, { axis: [0], keepDims: true })); // [1, C·M]
        s.free(win, win5, prod, prod2);
      }
    }
    const stacked = taps.length === 1 ? taps[0] : s.run('Concat', taps, { axis: 0 }); // [kh·kw, C·M]
    return s.reshape(stacked, [kh, kw, c, m]);
  });
}

function depthwiseBackpropInput(args: Args): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as InputAttrs;
  const [kh, kw, c, m] = filter.shape as Shape4;
  const info = convInfo(a.inputShape, filter.shape as Shape4, a);
  const [sh, sw] = pair(a.strides);
  const [dh, dw] = pair(a.dilations);
  const [b, inH, inW] = a.inputShape;
  const spanH = dh * (kh - 1);
  const spanW = dw * (kw - 1);
  return withScratch(args.backend, INPUT, (s) => {
    const spread = s.spreadRows(dy, sh, sw); // [B, H', W', C·M]
    const top = spanH - info.padInfo.top;
    const left = spanW - info.padInfo.left;
    const bottom = inH + spanH - spread.shape[1] - top;
    const right = inW + spanW - spread.shape[2] - left;
    if (Math.min(top, left, bottom, right) < 0) {
      throw new WasmConvGradError(INPUT, `padding ${JSON.stringify(info.padInfo)} exceeds the dilated kernel extent; not supported`);
    }
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    // One depthwise conv over all C·M channels of dy, each with its own flipped tap set.
    const w = s.reshape(flipped, [kh, kw, c * m, 1]);
    const full = s.run(
      'DepthwiseConv2dNative',
      { x: spread, filter: w },
      { strides: [1, 1], dilations: [dh, dw], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC' },
    ); // [B, H, W, C·M]
    if (m === 1) return full;
    return s.run('Sum', { x: s.reshape(full, [b, inH, inW, c, m]) }, { axis: [4], keepDims: false });
  });
}

export const depthwiseBackpropFilterWasm: tf.KernelConfig = {
  kernelName: FILTER,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};

export const depthwiseBackpropInputWasm: tf.KernelConfig = {
  kernelName: INPUT,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
