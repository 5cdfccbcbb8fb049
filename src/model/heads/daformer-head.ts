// DAFormerHead (SPEC §3.3): per-level linear embedding (`embed_layers.i.proj`), resize
// of levels 2..4 to the level-1 grid (bilinear, align_corners=False), channel concat,
// a fusion layer, Dropout2d and the 1×1 classifier `conv_seg`. The same class builds the
// main head (sep-ASPP fusion) and HRDA's scale-attention head (1×1 ConvModule fusion).
import * as tf from '@tensorflow/tfjs';
import type { ParamScope, ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { linear } from '../layers/linear.js';
import { conv2d } from '../layers/conv.js';
import { resizeBilinear } from '../layers/resize.js';
import { dropout2d } from '../layers/dropout.js';
import { SepAsppFusion } from './sep-aspp.js';
import { convModule, declareConvModule, type ConvModuleSpec } from './conv-module.js';

export type FusionConfig = { kind: 'sepAspp'; dilations: readonly number[] } | { kind: 'conv1x1' };

export interface DaformerHeadConfig {
  /** Channels of the backbone levels (in_channels). */
  inChannels: readonly number[];
  /** decoder_params.embed_dims: width of every level embedding. */
  embedDims: number;
  /** `channels`: output width of the fusion layer. */
  channels: number;
  numClasses: number;
  dropoutRatio: number;
  fusion: FusionConfig;
}

export class HeadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeadInputError';
  }
}

interface Fusion {
  forward(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D;
}

class Conv1x1Fusion implements Fusion {
  private readonly spec: ConvModuleSpec;
  constructor(scope: ParamScope, inChannels: number, channels: number) {
    this.spec = declareConvModule(scope, inChannels, channels, 1);
  }
  forward(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return convModule(p, this.spec, x, mode);
  }
}

export class DaformerHead {
  readonly prefix: string;
  private readonly fusion: Fusion;

  constructor(
    scope: ParamScope,
    readonly cfg: DaformerHeadConfig,
  ) {
    this.prefix = scope.prefix;
    // Declaration order follows the PyTorch state dict: BaseDecodeHead registers conv_seg
    // before the subclass adds embed_layers and fuse_layer.
    const seg = scope.child('conv_seg');
    seg.param('weight', [cfg.numClasses, cfg.channels, 1, 1], 'conv', { kind: 'normal', std: 0.01 });
    seg.param('bias', [cfg.numClasses], 'vector', { kind: 'zeros' });
    cfg.inChannels.forEach((c, i) => {
      // nn.Linear default init: U(±1/sqrt(fan_in)) for weight and bias.
      const bound = 1 / Math.sqrt(c);
      const proj = scope.child('embed_layers').child(i).child('proj');
      proj.param('weight', [cfg.embedDims, c], 'linear', { kind: 'uniform', bound });
      proj.param('bias', [cfg.embedDims], 'vector', { kind: 'uniform', bound });
    });
    const fuseIn = cfg.embedDims * cfg.inChannels.length;
    const fuse = scope.child('fuse_layer');
    this.fusion =
      cfg.fusion.kind === 'sepAspp'
        ? new SepAsppFusion(fuse, fuseIn, cfg.channels, cfg.fusion.dilations)
        : new Conv1x1Fusion(fuse, fuseIn, cfg.channels);
  }

  /** feats: the backbone levels, NHWC. Returns logits [B, H1, W1, numClasses] on the level-1 grid. */
  forward(p: ParamSource, feats: readonly tf.Tensor4D[], mode: ForwardMode): tf.Tensor4D {
    if (feats.length !== this.cfg.inChannels.length) {
      throw new HeadInputError(`${this.prefix}: expected ${this.cfg.inChannels.length} feature levels, got ${feats.length}`);
    }
    feats.forEach((f, i) => {
      if (f.shape[3] !== this.cfg.inChannels[i]) {
        throw new HeadInputError(`${this.prefix}: level ${i} has ${f.shape[3]} channels, expected ${this.cfg.inChannels[i]}`);
      }
    });
    const size: [number, number] = [feats[0].shape[1], feats[0].shape[2]];
    return tf.tidy(() => {
      const embedded = feats.map((f, i) => {
        const pre = `${this.prefix}.embed_layers.${i}.proj`;
        const e = linear(f, p.get(`${pre}.weight`), p.get(`${pre}.bias`)) as tf.Tensor4D;
        return e.shape[1] === size[0] && e.shape[2] === size[1] ? e : resizeBilinear(e, size);
      });
      const fused = this.fusion.forward(p, tf.concat(embedded, 3) as tf.Tensor4D, mode);
      const dropped = dropout2d(fused, this.cfg.dropoutRatio, mode);
      return conv2d(dropped, p.get(`${this.prefix}.conv_seg.weight`), p.get(`${this.prefix}.conv_seg.bias`));
    });
  }
}
