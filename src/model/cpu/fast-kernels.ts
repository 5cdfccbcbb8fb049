// Faster replacements for three cpu-backend kernels whose stock versions index element by
// element through TensorBuffer.get/set (tens of seconds per training step even on the
// tiny fixture model): Slice, Conv2DBackpropFilter and UnsortedSegmentSum (the gradient
// of gather). Same arithmetic, plain TypedArray loops; the results are checked against
// references in test/unit/cpu-fast-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import { sliceValues } from './slice-values.js';

type Vals = Float32Array | Int32Array | Uint8Array;

interface CpuBackendLike {
  data: { get(id: unknown): { values: Vals } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Vals): tf.TensorInfo;
}

function sliceKernel(stock: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args);
    const backend = args.backend as unknown as CpuBackendLike;
    const attrs = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin, attrs.size);
    tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, b, s);
    return backend.makeTensorInfo(s, x.dtype, sliceValues(backend.data.get(x.dataId).values, x.shape, b, s));
  };
}

/** dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw, ci] · dy[b,oh,ow,co] (NHWC). */
function conv2DBackpropFilterKernel(stock: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = args.attrs as any;
    if (a.dataFormat && a.dataFormat !== 'NHWC') return stock.kernelFunc(args);
    const backend = args.backend as unknown as CpuBackendLike;
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
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    const xv = backend.data.get(x.dataId).values as Float32Array;
    const dyv = backend.data.get(dy.dataId).values as Float32Array;
    const dw = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
    for (let b = 0; b < batchSize; b++) {
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++) {
          const dyOff = ((b * outHeight + oh) * outWidth + ow) * outChannels;
          for (let kh = 0; kh < filterHeight; kh++) {
            const ih = oh * strideHeight - pt + kh * dilationHeight;
            if (ih < 0 || ih >= inHeight) continue;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = ow * strideWidth - pl + kw * dilationWidth;
              if (iw < 0 || iw >= inWidth) continue;
              const xOff = ((b * inHeight + ih) * inWidth + iw) * inChannels;
              const wBase = (kh * filterWidth + kw) * inChannels * outChannels;
              for (let ci = 0; ci < inChannels; ci++) {
                const xval = xv[xOff + ci];
                if (xval === 0) continue;
                const wOff = wBase + ci * outChannels;
                for (let co = 0; co < outChannels; co++) dw[wOff + co] += xval * dyv[dyOff + co];
              }
            }
          }
        }
      }
    }
    return backend.makeTensorInfo([filterHeight, filterWidth, inChannels, outChannels], 'float32', dw);
  };
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...] for ids of any rank (rows of x follow ids' shape). */
function unsortedSegmentSumKernel(stock: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return stock.kernelFunc(args);
    const numSegments = (args.attrs as any).numSegments as number;
    const backend = args.backend as unknown as CpuBackendLike;
    const ids = backend.data.get(segmentIds.dataId).values;
    const xv = backend.data.get(x.dataId).values;
    const inner = x.shape.slice(segmentIds.shape.length).reduce((p, q) => p * q, 1);
    const out = x.dtype === 'float32' ? new Float32Array(numSegments * inner) : new Int32Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i];
      if (s < 0 || s >= numSegments) continue;
      const src = i * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) out[dst + j] += xv[src + j];
    }
    return backend.makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, out);
  };
}

const REPLACEMENTS: Record<string, (stock: tf.KernelConfig) => tf.KernelFunc> = {
  Slice: sliceKernel,
  Conv2DBackpropFilter: conv2DBackpropFilterKernel,
  UnsortedSegmentSum: unsortedSegmentSumKernel,
};

let registered = false;

/** Replaces the cpu backend's slow kernels (idempotent). */
export function registerFastCpuKernels(): void {
  if (registered) return;
  for (const [name, make] of Object.entries(REPLACEMENTS)) {
    const stock = tf.getKernel(name, 'cpu');
    if (!stock) continue;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: make(stock) });
  }
  registered = true;
}
