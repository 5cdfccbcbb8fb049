// The Mix Transformer encoder (SegFormer MiT-B0…B5): four stages of
// overlapping patch embedding → Transformer blocks → LayerNorm, giving NHWC feature maps
// at strides 4, 8, 16, 32. Parameters carry the original PyTorch names under the scope
// the caller passes (the segmentor passes `backbone`), in the original registration order.
import * as tf from '@tensorflow/tfjs';
import type { ForwardMode } from '../layers/forward-mode.js';
import { declareLayerNorm, layerNorm } from '../layers/norm.js';
import type { ParamScope, ParamSource } from '../params.js';
import { BLOCK_NORM_EPS, MitBlock } from './mit-block.js';
import { dropPathSchedule, validateMitConfig, type MitConfig } from './mit-config.js';
import { OverlapPatchEmbed } from './overlap-patch-embed.js';

interface Stage {
  embed: OverlapPatchEmbed;
  blocks: MitBlock[];
  norm: { weight: string; bias: string };
}

export class MixVisionTransformer {
  readonly stageChannels: number[];
  private readonly stages: Stage[];

  constructor(scope: ParamScope, readonly cfg: MitConfig) {
    validateMitConfig(cfg);
    this.stageChannels = [...cfg.embedDims];
    // PyTorch registers patch_embed1..4 first, then block1, norm1, block2, norm2, …
    const embeds = cfg.embedDims.map((dim, i) => {
      const inCh = i === 0 ? (cfg.inChannels ?? 3) : cfg.embedDims[i - 1];
      const [kernel, stride] = i === 0 ? [7, 4] : [3, 2];
      return new OverlapPatchEmbed(scope.child(`patch_embed${i + 1}`), inCh, dim, kernel, stride);
    });
    const dpr = dropPathSchedule(cfg);
    this.stages = cfg.embedDims.map((dim, i) => {
      const blocks = dpr[i].map(
        (dropPath, j) =>
          new MitBlock(scope.child(`block${i + 1}`).child(j), {
            dim,
            numHeads: cfg.numHeads[i],
            srRatio: cfg.srRatios[i],
            mlpRatio: cfg.mlpRatios[i],
            qkvBias: cfg.qkvBias,
            dropPath,
          }),
      );
      const norm = declareLayerNorm(scope.child(`norm${i + 1}`), dim);
      return { embed: embeds[i], blocks, norm };
    });
  }

  /** x: image batch [B, H, W, Cin] → the four stage outputs [B, H_i, W_i, C_i] (strides 4/8/16/32). */
  forward(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[] {
    return tf.tidy(() => {
      const outs: tf.Tensor4D[] = [];
      let input = x;
      for (const stage of this.stages) {
        const { tokens, h, w } = stage.embed.forward(p, input);
        let t = tokens;
        for (const block of stage.blocks) t = block.forward(p, t, h, w, mode);
        const normed = layerNorm(t, p.get(stage.norm.weight), p.get(stage.norm.bias), BLOCK_NORM_EPS);
        input = tf.reshape(normed, [x.shape[0], h, w, normed.shape[2]!]);
        outs.push(input);
      }
      return outs;
    });
  }
}
