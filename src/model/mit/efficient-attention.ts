// SegFormer's efficient self-attention: queries from every token, keys/values from a
// spatially reduced token grid (Conv2d with kernel = stride = sr, then LayerNorm eps 1e-5)
// so the score matrix is N × N/sr².
//
// Layout choices (the wasm backend is fast only for batch-1, non-transposed matmuls):
// heads are folded into the batch as [B·heads, tokens, d], keys are laid out as
// [B·heads, d, M] so Q·Kᵀ needs no transpose flag, and batchedMatMul keeps the backward
// pass on the same path. With one head the head transposes are plain reshapes.
import * as tf from '@tensorflow/tfjs';
import { conv2d } from '../layers/conv.js';
import { linear } from '../layers/linear.js';
import { declareLayerNorm, layerNorm } from '../layers/norm.js';
import type { ParamScope, ParamSource } from '../params.js';
import { batchedMatMul } from './batched-matmul.js';
import { declareConv, declareLinear, type ConvNames, type LinearNames } from './mit-init.js';

/** The spatial-reduction LayerNorm is a plain nn.LayerNorm (PyTorch default eps). */
export const SR_NORM_EPS = 1e-5;

/**
 * The token grid is smaller than the sr×sr reduction kernel, so there would be no key/value
 * tokens. PyTorch refuses such a conv too; TF.js would silently return an empty tensor on
 * cpu and corrupt its memory on wasm, so it is caught here.
 */
export class MitInputTooSmallError extends Error {
  constructor(where: string, h: number, w: number, sr: number) {
    super(`${where}: token grid ${h}×${w} is smaller than the ${sr}×${sr} spatial reduction; use a larger input image`);
    this.name = 'MitInputTooSmallError';
  }
}

export class EfficientAttention {
  private readonly q: LinearNames;
  private readonly kv: LinearNames;
  private readonly proj: LinearNames;
  private readonly sr: ConvNames | null;
  private readonly srNorm: { weight: string; bias: string } | null;
  private readonly headDim: number;
  private readonly scale: number;

  /** Declares attn.q, attn.kv, attn.proj and (if srRatio > 1) attn.sr, attn.norm under `scope`. */
  private readonly where: string;

  constructor(
    scope: ParamScope,
    private readonly dim: number,
    private readonly numHeads: number,
    private readonly srRatio: number,
    qkvBias: boolean,
  ) {
    this.where = scope.prefix;
    this.headDim = dim / numHeads;
    this.scale = this.headDim ** -0.5;
    this.q = declareLinear(scope.child('q'), dim, dim, qkvBias);
    this.kv = declareLinear(scope.child('kv'), dim, 2 * dim, qkvBias);
    this.proj = declareLinear(scope.child('proj'), dim, dim);
    if (srRatio > 1) {
      this.sr = declareConv(scope.child('sr'), dim, dim, srRatio);
      this.srNorm = declareLayerNorm(scope.child('norm'), dim);
    } else {
      this.sr = null;
      this.srNorm = null;
    }
  }

  /** x: tokens [B, H·W, C] of an H×W grid → [B, H·W, C]. */
  forward(p: ParamSource, x: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
    if (h < this.srRatio || w < this.srRatio) throw new MitInputTooSmallError(this.where, h, w, this.srRatio);
    return tf.tidy(() => {
      const [b, n, c] = x.shape;
      const heads = this.numHeads;
      const d = this.headDim;
      const bias = (names: LinearNames) => (names.bias ? p.get(names.bias) : null);

      // Queries [B·heads, N, d], pre-scaled through the C×C weight and bias (x·(sW) + sb):
      // PyTorch scales the N×M scores instead, which costs far more; when d^-0.5 is a power
      // of two (d = 16, 64, …) both orders round identically, otherwise they differ by
      // rounding only.
      const qBias = bias(this.q);
      const qLin = linear(x, tf.mul(p.get(this.q.weight), this.scale), qBias ? tf.mul(qBias, this.scale) : null);
      const q = this.splitHeads(qLin, b, n);

      // Key/value source tokens: the reduced grid, or x itself when sr = 1.
      let src: tf.Tensor = x;
      if (this.sr && this.srNorm) {
        const grid = tf.reshape(x, [b, h, w, c]) as tf.Tensor4D;
        const reduced = conv2d(grid, p.get(this.sr.weight), p.get(this.sr.bias), { stride: this.srRatio });
        const [, hr, wr] = reduced.shape;
        src = layerNorm(tf.reshape(reduced, [b, hr * wr, c]), p.get(this.srNorm.weight), p.get(this.srNorm.bias), SR_NORM_EPS);
      }
      const m = src.shape[1]!;
      // kv channels are [2, heads, d]: the first C are keys, the last C values.
      const kv = linear(src, p.get(this.kv.weight), bias(this.kv));
      const k = tf.reshape(tf.slice(kv, [0, 0, 0], [b, m, c]), [b, m, heads, d]);
      const v = tf.slice(kv, [0, 0, c], [b, m, c]);
      const kT = tf.reshape(tf.transpose(k, [0, 2, 3, 1]), [b * heads, d, m]) as tf.Tensor3D; // [B·heads, d, M]

      const attn = tf.softmax(batchedMatMul(q, kT)) as tf.Tensor3D; // [B·heads, N, M]
      const out = batchedMatMul(attn, this.splitHeads(v, b, m)); // [B·heads, N, d]
      return linear(this.mergeHeads(out, b, n), p.get(this.proj.weight), bias(this.proj)) as tf.Tensor3D;
    });
  }

  /** [B, T, heads·d] → [B·heads, T, d]. */
  private splitHeads(t: tf.Tensor, b: number, tokens: number): tf.Tensor3D {
    const heads = this.numHeads;
    const d = this.headDim;
    if (heads === 1) return tf.reshape(t, [b, tokens, d]);
    return tf.reshape(tf.transpose(tf.reshape(t, [b, tokens, heads, d]), [0, 2, 1, 3]), [b * heads, tokens, d]);
  }

  /** [B·heads, T, d] → [B, T, heads·d]. */
  private mergeHeads(t: tf.Tensor3D, b: number, tokens: number): tf.Tensor3D {
    const heads = this.numHeads;
    if (heads === 1) return tf.reshape(t, [b, tokens, this.dim]);
    return tf.reshape(tf.transpose(tf.reshape(t, [b, heads, tokens, this.headDim]), [0, 2, 1, 3]), [b, tokens, this.dim]);
  }
}
