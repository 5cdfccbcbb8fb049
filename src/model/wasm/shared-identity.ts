// Identity for wasm that shares the input's memory instead of copying it.
//
// While the tape records, the engine saves every tensor a gradient will need through the
// Identity kernel (engine.clone). tfjs-backend-wasm copies the data each time — ~1,700
// copies per MiT-B0 + DAFormer training step here — while the cpu backend just adds a
// reference. Tensors are immutable and every wasm kernel writes only to a fresh output,
// so a shared reference is as safe here as it is on cpu.
import * as tf from '@tensorflow/tfjs';

const NAME = 'Identity';

interface RefCountingBackend extends tf.KernelBackend {
  incRef(dataId: tf.DataId): void;
}

export function sharedIdentityWasm(): tf.KernelConfig {
  const original = tf.getKernel(NAME, 'wasm');
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' && original) return original.kernelFunc(args) as tf.TensorInfo;
    (args.backend as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
