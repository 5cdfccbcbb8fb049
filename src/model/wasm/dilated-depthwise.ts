// Dilated depthwise conv (stride 1, symmetric padding) with a gradient, for the wasm backend.
//
// TF.js core refuses gradients of depthwiseConv2d with dilation > 1, so the model runs its
// atrous ASPP branches as space-to-batch → undilated conv → batch-to-space. On the head's
// 1024-channel maps that costs padded copies, transposes and crops in both passes. XNNPACK
// (wasm's DepthwiseConv2dNative) dilates natively, and this folder's backprop kernels handle
// dilation, so on wasm the branch can be one native conv with an explicit gradient.
import * as tf from '@tensorflow/tfjs';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** True when the running backend has dilation-capable depthwise gradient kernels (wasm + ours). */
export function nativeDilatedDepthwiseAvailable(): boolean {
  return (
    tf.getBackend() === 'wasm' &&
    tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm') != null &&
    tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm') != null
  );
}

/** x [B,H,W,C], w [k,k,C,1], zero padding p on each side, dilation d: one native conv. */
export function dilatedDepthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, padding: number, dilation: number): tf.Tensor4D {
  const pad: Pad4 = [
    [0, 0],
    [padding, padding],
    [padding, padding],
    [0, 0],
  ];
  const attrs = { strides: 1, dilations: dilation, pad, dimRoundingMode: undefined };
  const op = tf.customGrad(((xIn: tf.Tensor4D, wIn: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([xIn, wIn]);
    return {
      value: tf.depthwiseConv2d(xIn, wIn, 1, pad, 'NHWC', dilation),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor4D[];
        const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: sw }, { ...attrs, inputShape: sx.shape } as unknown as tf.NamedAttrMap);
        const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: sx, dy }, { ...attrs, filterShape: sw.shape } as unknown as tf.NamedAttrMap);
        return [dx as tf.Tensor, dw as tf.Tensor];
      },
    };
  }) as any) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
  return op(x, w);
}
