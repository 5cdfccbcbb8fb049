// The two depthwise-conv gradients tfjs-backend-wasm 4.22 lacks (Mix-FFN's 3×3 dwconv and
// the head's separable ASPP branches need both). Filter [kh, kw, C, M], output channel
// c·M + m, so both kernels view channels as [C, M].
//
// Filter: dW[i, j, c, m] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, c] · dy[b, oh, ow, c, m]
//   — accumulated directly from heap views in float64 (see below).
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

interface HeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
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
  // One pass over heap views, taps outermost, channels innermost (contiguous in NHWC), with
  // float64 accumulators; out-of-image taps are skipped instead of padding x. Building each
  // tap's window with Slice + Multiply + Sum cost ~4× more on the 1024-channel ASPP maps.
  const backend = args.backend as HeapBackend;
  const out = backend.makeOutput([kh, kw, c, m], 'float32');
  const xs = backend.typedArrayFromHeap(x); // views after makeOutput (heap growth detaches)
  const gs = backend.typedArrayFromHeap(dy);
  const [, inH, inW] = x.shape;
  const cm = c * m;
  const acc = new Float64Array(kh * kw * cm);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const base = (i * kw + j) * cm;
      for (let n = 0; n < b; n++) {
        for (let r = 0; r < oh; r++) {
          const h = r * sh - info.padInfo.top + i * dh;
          if (h < 0 || h >= inH) continue;
          for (let q = 0; q < ow; q++) {
            const w = q * sw - info.padInfo.left + j * dw;
            if (w < 0 || w >= inW) continue;
            const xo = ((n * inH + h) * inW + w) * c;
            const go = ((n * oh + r) * ow + q) * cm;
            if (m === 1) {
              for (let ch = 0; ch < c; ch++) acc[base + ch] += xs[xo + ch] * gs[go + ch];
            } else {
              for (let ch = 0; ch < c; ch++) for (let k = 0; k < m; k++) acc[base + ch * m + k] += xs[xo + ch] * gs[go + ch * m + k];
            }
          }
        }
      }
    }
  }
  backend.typedArrayFromHeap(out).set(acc);
  return out;
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
