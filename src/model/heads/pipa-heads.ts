// PiPa's training-only heads on the HR-crop features (SPEC §1.6): the four backbone levels,
// levels 2..4 bilinearly resized to the level-1 grid with align_corners=True, concatenated;
//   cls_head  = 3×3 conv(+bias, pad 1) → BN → ReLU → Dropout2d(0.1) → 1×1 conv (no bias)
//   proj_head = 1×1 conv(+bias) → BN → ReLU → 1×1 conv(+bias) → L2-normalise over channels
// Keys: cls_head.{0,1.0,3}.*, proj_head.proj.{0,1.0,2}.* (BN inside ModuleHelper.BNReLU).
import * as tf from '@tensorflow/tfjs';
import type { ParamRegistry, ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { conv2d } from '../layers/conv.js';
import { batchNorm, declareBatchNorm } from '../layers/norm.js';
import { dropout2d } from '../layers/dropout.js';
import { resizeBilinear } from '../layers/resize.js';
import { HeadInputError } from './daformer-head.js';

export const CLS_HEAD_DROPOUT = 0.1;
/** F.normalize's eps: x / max(‖x‖₂, eps). */
const NORMALIZE_EPS = 1e-12;

export interface PipaHeadsConfig {
  /** Sum of the backbone's stage widths (PiPa hard-codes 1024 = MiT-B5's sum). */
  inChannels: number;
  numClasses: number;
  projDim: number;
}

export interface PipaHeadsOutput {
  /** cls_head logits [B, H1, W1, numClasses]. */
  clsSeg: tf.Tensor4D;
  /** L2-normalised projection [B, H1, W1, projDim]. */
  embed: tf.Tensor4D;
}

/** nn.Conv2d with PyTorch's default init: U(±1/sqrt(fan_in)) for weight and bias. */
function declareTorchConv(registry: ParamRegistry, prefix: string, inCh: number, outCh: number, k: number, bias: boolean): void {
  const s = registry.scope(prefix);
  const bound = 1 / Math.sqrt(inCh * k * k);
  s.param('weight', [outCh, inCh, k, k], 'conv', { kind: 'uniform', bound });
  if (bias) s.param('bias', [outCh], 'vector', { kind: 'uniform', bound });
}

/** cat([f1, up(f2), up(f3), up(f4)]) on the level-1 grid, align_corners=True. */
export function concatPipaFeatures(feats: readonly tf.Tensor4D[]): tf.Tensor4D {
  const size: [number, number] = [feats[0].shape[1], feats[0].shape[2]];
  return tf.tidy(() => {
    const levels = feats.map((f, i) => (i === 0 ? f : resizeBilinear(f, size, { alignCorners: true })));
    return tf.concat(levels, 3) as tf.Tensor4D;
  });
}

/**
 * F.normalize(x, p=2, dim=channels) on NHWC: x / max(‖x‖, eps). Written as
 * sqrt(max(Σx², eps²)) — the same value — so an all-zero pixel gets a zero gradient
 * (as in PyTorch) instead of sqrt'(0) = ∞ times 0.
 */
export function l2NormalizeChannels(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const sumSq = tf.sum(tf.square(x), 3, true);
    return tf.div(x, tf.sqrt(tf.maximum(sumSq, NORMALIZE_EPS * NORMALIZE_EPS))) as tf.Tensor4D;
  });
}

export class PipaHeads {
  constructor(
    registry: ParamRegistry,
    readonly cfg: PipaHeadsConfig,
  ) {
    const c = cfg.inChannels;
    declareTorchConv(registry, 'cls_head.0', c, c, 3, true);
    declareBatchNorm(registry.scope('cls_head.1.0'), c);
    declareTorchConv(registry, 'cls_head.3', c, cfg.numClasses, 1, false);
    declareTorchConv(registry, 'proj_head.proj.0', c, c, 1, true);
    declareBatchNorm(registry.scope('proj_head.proj.1.0'), c);
    declareTorchConv(registry, 'proj_head.proj.2', c, cfg.projDim, 1, true);
  }

  /** hrFeats: the four HR-crop backbone levels (NHWC). Runs cls_head, then proj_head (PiPa's order). */
  forward(p: ParamSource, hrFeats: readonly tf.Tensor4D[], mode: ForwardMode): PipaHeadsOutput {
    const total = hrFeats.reduce((s, f) => s + f.shape[3], 0);
    if (total !== this.cfg.inChannels) {
      throw new HeadInputError(`PiPa heads: features have ${total} channels in total, heads were built for ${this.cfg.inChannels}`);
    }
    return tf.tidy(() => {
      const feats = concatPipaFeatures(hrFeats);
      let h = conv2d(feats, p.get('cls_head.0.weight'), p.get('cls_head.0.bias'), { padding: 1 });
      h = tf.relu(batchNorm(h, p, 'cls_head.1.0', mode));
      h = dropout2d(h, CLS_HEAD_DROPOUT, mode);
      const clsSeg = conv2d(h, p.get('cls_head.3.weight'), null);
      let e = conv2d(feats, p.get('proj_head.proj.0.weight'), p.get('proj_head.proj.0.bias'));
      e = tf.relu(batchNorm(e, p, 'proj_head.proj.1.0', mode));
      e = conv2d(e, p.get('proj_head.proj.2.weight'), p.get('proj_head.proj.2.bias'));
      return { clsSeg, embed: l2NormalizeChannels(e) };
    });
  }
}
