// Overlapping patch embedding: a strided Conv2d with kernel > stride (7/4 for stage 1,
// 3/2 afterwards, padding k//2) then LayerNorm over channels. Output sizes follow the
// conv rule floor((in + 2p − k)/s) + 1, so odd and non-square inputs work.
import * as tf from '@tensorflow/tfjs';
import { conv2d, convOutSize } from '../layers/conv.js';
import { declareLayerNorm, layerNorm } from '../layers/norm.js';
import type { ParamScope, ParamSource } from '../params.js';
import { declareConv, type ConvNames } from './mit-init.js';

/** The patch-embed norm is a plain nn.LayerNorm (PyTorch default eps), not the blocks' 1e-6. */
export const PATCH_EMBED_NORM_EPS = 1e-5;

export interface PatchTokens {
  /** [B, H·W, C] */
  tokens: tf.Tensor3D;
  h: number;
  w: number;
}

export class OverlapPatchEmbed {
  private readonly proj: ConvNames;
  private readonly norm: { weight: string; bias: string };

  /** Declares proj (Conv2d inCh→dim, k×k) and norm under `scope` (e.g. `backbone.patch_embed1`). */
  constructor(
    scope: ParamScope,
    inChannels: number,
    private readonly dim: number,
    private readonly kernel: number,
    private readonly stride: number,
  ) {
    this.proj = declareConv(scope.child('proj'), inChannels, dim, kernel);
    this.norm = declareLayerNorm(scope.child('norm'), dim);
  }

  /** x [B, H, W, Cin] (NHWC) → normalised tokens of the strided grid. */
  forward(p: ParamSource, x: tf.Tensor4D): PatchTokens {
    const out = tf.tidy(() => {
      const y = conv2d(x, p.get(this.proj.weight), p.get(this.proj.bias), { stride: this.stride, padding: Math.floor(this.kernel / 2) });
      const [b, h, w] = y.shape;
      const tokens = tf.reshape(y, [b, h * w, this.dim]);
      return layerNorm(tokens, p.get(this.norm.weight), p.get(this.norm.bias), PATCH_EMBED_NORM_EPS) as tf.Tensor3D;
    });
    const [h, w] = this.gridSize(x.shape[1], x.shape[2]);
    return { tokens: out, h, w };
  }

  /** Token grid size for an input of size inH × inW. */
  gridSize(inH: number, inW: number): [number, number] {
    const pad = Math.floor(this.kernel / 2);
    return [convOutSize(inH, this.kernel, this.stride, pad), convOutSize(inW, this.kernel, this.stride, pad)];
  }
}
