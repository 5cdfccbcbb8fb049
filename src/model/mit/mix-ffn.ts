// Mix-FFN: Linear(C→hidden) → depthwise 3×3 conv on the token grid → GELU (erf) →
// Linear(hidden→C). The conv is what gives MiT its positional information. Dropout is 0
// in every SegFormer config, so it is not modelled.
//
// In NHWC the token sequence [B, H·W, hidden] IS the grid [B, H, W, hidden] in memory,
// so moving between the two is a free reshape (PyTorch needs a transpose here).
import * as tf from '@tensorflow/tfjs';
import { gelu } from '../layers/activation.js';
import { depthwiseConv2d } from '../layers/conv.js';
import { linear } from '../layers/linear.js';
import type { ParamScope, ParamSource } from '../params.js';
import { declareDepthwiseConv, declareLinear, type ConvNames, type LinearNames } from './mit-init.js';

export class MixFfn {
  private readonly fc1: LinearNames;
  private readonly dwconv: ConvNames;
  private readonly fc2: LinearNames;

  /** Declares mlp.fc1, mlp.dwconv.dwconv and mlp.fc2 under `scope`. */
  constructor(
    scope: ParamScope,
    dim: number,
    private readonly hidden: number,
  ) {
    this.fc1 = declareLinear(scope.child('fc1'), dim, hidden);
    this.dwconv = declareDepthwiseConv(scope.child('dwconv').child('dwconv'), hidden, 3);
    this.fc2 = declareLinear(scope.child('fc2'), hidden, dim);
  }

  /** x: tokens [B, H·W, C] of an H×W grid → [B, H·W, C]. */
  forward(p: ParamSource, x: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
    return tf.tidy(() => {
      const b = x.shape[0];
      const expanded = linear(x, p.get(this.fc1.weight), p.get(this.fc1.bias!));
      const grid = tf.reshape(expanded, [b, h, w, this.hidden]) as tf.Tensor4D;
      const mixed = depthwiseConv2d(grid, p.get(this.dwconv.weight), p.get(this.dwconv.bias), { padding: 1 });
      const act = gelu(tf.reshape(mixed, [b, h * w, this.hidden]));
      return linear(act, p.get(this.fc2.weight), p.get(this.fc2.bias!)) as tf.Tensor3D;
    });
  }
}
