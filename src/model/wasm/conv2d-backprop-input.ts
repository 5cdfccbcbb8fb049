// Conv2DBackpropInput for wasm on XNNPACK's forward convolution.
//
// tfjs-backend-wasm 4.22 has this kernel, but measured here it runs ~10× slower than the
// forward conv of the same size (the DAFormer bottleneck 3×3 1024→256: 4.3 s vs 0.4 s).
// The input gradient is a forward conv of dy with the spatially flipped filter whose in/out
// channels are swapped, W'[i,j,co,ci] = W[kh−1−i, kw−1−j, ci, co], on dy with s−1 zeros
// inserted between rows/cols (stride s) and padded by k−1−pad:
//   dx[h] = Σ_i dy_spread[h + pad − i] · W[i]
import * as tf from '@tensorflow/tfjs';
import { WasmConvGradError } from './conv2d-backprop-filter.js';
import { pair, withScratch } from './wasm-ops.js';

const NAME = 'Conv2DBackpropInput';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** Builds the override; NCHW calls go to the original kernel. */
export function conv2dBackpropInputWasm(): tf.KernelConfig {
  const original = tf.getKernel(NAME, 'wasm');
  const kernelFunc = (args: Args): tf.TensorInfo => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as unknown as Attrs;
    if (a.dataFormat === 'NCHW') {
      if (original) return original.kernelFunc(args) as tf.TensorInfo;
      throw new WasmConvGradError(NAME, "dataFormat 'NCHW' is not supported");
    }
    const [kh, kw] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const [sh, sw] = pair(a.strides);
    const [, inH, inW] = a.inputShape;
    return withScratch(args.backend, NAME, (s) => {
      const spread = s.spreadRows(dy, sh, sw);
      const top = kh - 1 - info.padInfo.top;
      const left = kw - 1 - info.padInfo.left;
      const bottom = inH + kh - 1 - spread.shape[1] - top;
      const right = inW + kw - 1 - spread.shape[2] - left;
      if (Math.min(top, left, bottom, right) < 0) {
        throw new WasmConvGradError(NAME, `padding ${JSON.stringify(info.padInfo)} is larger than the kernel; not supported`);
      }
      const flipped = kh === 1 && kw === 1 ? filter : s.run('Reverse', { x: filter }, { dims: [0, 1] });
      const w = s.transpose(flipped, [0, 1, 3, 2]); // [kh, kw, Cout, Cin]
      return s.run(
        'Conv2D',
        { x: spread, filter: w },
        { strides: [1, 1], dilations: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC' },
      );
    });
  };
  return { kernelName: NAME, backendName: 'wasm', setupFunc: original?.setupFunc, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
