// One pre-norm MiT Transformer block:
//   x = x + DropPath(Attn(LN1(x)));  x = x + DropPath(MixFFN(LN2(x)))
// with LN eps 1e-6 (the blocks' norm_layer in every SegFormer config).
import * as tf from '@tensorflow/tfjs';
import { dropPath } from '../layers/dropout.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { declareLayerNorm, layerNorm } from '../layers/norm.js';
import type { ParamScope, ParamSource } from '../params.js';
import { EfficientAttention } from './efficient-attention.js';
import { MixFfn } from './mix-ffn.js';

/** eps of norm1/norm2 in the blocks and of the stage output norms. */
export const BLOCK_NORM_EPS = 1e-6;

export interface MitBlockOptions {
  dim: number;
  numHeads: number;
  srRatio: number;
  mlpRatio: number;
  qkvBias: boolean;
  /** Stochastic-depth probability of this block. */
  dropPath: number;
}

export class MitBlock {
  private readonly norm1: { weight: string; bias: string };
  private readonly attn: EfficientAttention;
  private readonly norm2: { weight: string; bias: string };
  private readonly mlp: MixFfn;
  readonly dropPathProb: number;

  /** Declares norm1, attn.*, norm2, mlp.* under `scope` (e.g. `backbone.block1.0`). */
  constructor(scope: ParamScope, o: MitBlockOptions) {
    this.dropPathProb = o.dropPath;
    this.norm1 = declareLayerNorm(scope.child('norm1'), o.dim);
    this.attn = new EfficientAttention(scope.child('attn'), o.dim, o.numHeads, o.srRatio, o.qkvBias);
    this.norm2 = declareLayerNorm(scope.child('norm2'), o.dim);
    this.mlp = new MixFfn(scope.child('mlp'), o.dim, Math.trunc(o.dim * o.mlpRatio));
  }

  /** x: tokens [B, H·W, C] of an H×W grid → same shape. */
  forward(p: ParamSource, x: tf.Tensor3D, h: number, w: number, mode: ForwardMode): tf.Tensor3D {
    return tf.tidy(() => {
      const a = this.attn.forward(p, layerNorm(x, p.get(this.norm1.weight), p.get(this.norm1.bias), BLOCK_NORM_EPS) as tf.Tensor3D, h, w);
      const x1 = tf.add(x, dropPath(a, this.dropPathProb, mode)) as tf.Tensor3D;
      const f = this.mlp.forward(p, layerNorm(x1, p.get(this.norm2.weight), p.get(this.norm2.bias), BLOCK_NORM_EPS) as tf.Tensor3D, h, w);
      return tf.add(x1, dropPath(f, this.dropPathProb, mode)) as tf.Tensor3D;
    });
  }
}
