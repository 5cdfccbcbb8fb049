// HRDAHead (`decode_head.*`): one DAFormer head shared by both scales (`decode_head.head`)
// and the scale-attention head (`decode_head.scale_attention`), plus decode_hr, which
// turns HR slide-window logits into one HR logit map. The fusion itself is in hrda/fusion.ts.
import * as tf from '@tensorflow/tfjs';
import type { ParamScope, ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import { DaformerHead } from './daformer-head.js';
import { hrdaFuse, type FusionGeometry } from '../hrda/fusion.js';
import { scaleBox, type CropBox } from '../hrda/crop-box.js';
import { pasteAndAverage } from '../hrda/paste-average.js';

export interface HrdaHeadConfig {
  inChannels: readonly number[];
  numClasses: number;
  /** DAFormer `channels` and decoder embed dims of the main head. */
  channels: number;
  embedDims: number;
  dropoutRatio: number;
  asppDilations: readonly number[];
  /** Scale attention width (its channels and embed dims). */
  attentionEmbedDim: number;
  /** 19 attention channels if true, 1 otherwise. */
  attentionClasswise: boolean;
  /** Sorted ascending: [lr, hr]. */
  scales: readonly [number, number];
}

/** HR input of HRDAHead.forward: the features of one crop/image, or of stacked slide windows. */
export type HrInput = { feats: tf.Tensor4D[] } | { feats: tf.Tensor4D[]; boxes: readonly CropBox[] };

export interface HrdaOutput {
  fused: tf.Tensor4D;
  lrSegTimes1MinusAtt: tf.Tensor4D;
  hrSeg: tf.Tensor4D;
}

/** DAFormer's output stride. */
export const DAFORMER_OS = 4;

export class HrdaHead {
  readonly head: DaformerHead;
  readonly scaleAttention: DaformerHead;
  readonly geometry: FusionGeometry;

  constructor(
    scope: ParamScope,
    readonly cfg: HrdaHeadConfig,
  ) {
    this.head = new DaformerHead(scope.child('head'), {
      inChannels: cfg.inChannels,
      embedDims: cfg.embedDims,
      channels: cfg.channels,
      numClasses: cfg.numClasses,
      dropoutRatio: cfg.dropoutRatio,
      fusion: { kind: 'sepAspp', dilations: cfg.asppDilations },
    });
    this.scaleAttention = new DaformerHead(scope.child('scale_attention'), {
      inChannels: cfg.inChannels,
      embedDims: cfg.attentionEmbedDim,
      channels: cfg.attentionEmbedDim,
      numClasses: cfg.attentionClasswise ? cfg.numClasses : 1,
      dropoutRatio: cfg.dropoutRatio,
      fusion: { kind: 'conv1x1' },
    });
    if (!(cfg.scales[0] <= cfg.scales[1])) throw new Error(`HRDA scales must be sorted [lr, hr], got [${cfg.scales}]`);
    this.geometry = { os: DAFORMER_OS, lrScale: cfg.scales[0], hrScale: cfg.scales[1] };
  }

  /** sigmoid(scale_attention(lr feats)). */
  attention(p: ParamSource, lrFeats: readonly tf.Tensor4D[], mode: ForwardMode): tf.Tensor4D {
    return tf.tidy(() => tf.sigmoid(this.scaleAttention.forward(p, lrFeats, mode)));
  }

  /** decode_hr: head on all windows in ONE call (one set of BN batch statistics), then paste-average. */
  decodeHr(p: ParamSource, hr: HrInput, bs: number, mode: ForwardMode): tf.Tensor4D {
    if (!('boxes' in hr)) return this.head.forward(p, hr.feats, mode);
    const boxes = hr.boxes.map((b) => scaleBox(b, this.geometry.os));
    const canvasH = Math.max(0, ...boxes.map((b) => b[1]));
    const canvasW = Math.max(0, ...boxes.map((b) => b[3]));
    return tf.tidy(() => pasteAndAverage(this.head.forward(p, hr.feats, mode), boxes, bs, [canvasH, canvasW]));
  }

  /**
   * HRDAHead.forward. `crop` = the HR detail box in HR-image pixels (training), or null
   * (inference). Call order — head(lr), head(hr), scale_attention(lr) — is the original's,
   * which fixes the order of BN running-stat updates in batch mode.
   */
  forward(p: ParamSource, lrFeats: readonly tf.Tensor4D[], hr: HrInput, crop: CropBox | null, mode: ForwardMode): HrdaOutput {
    if (crop && 'boxes' in hr) throw new Error('HRDAHead.forward: a training crop box and HR slide windows are exclusive');
    return tf.tidy(() => {
      const bs = lrFeats[0].shape[0];
      const lrSeg = this.head.forward(p, lrFeats, mode);
      const hrSeg = this.decodeHr(p, hr, bs, mode);
      const att = this.attention(p, lrFeats, mode);
      const { fused, lrSegTimes1MinusAtt } = hrdaFuse(lrSeg, att, hrSeg, crop, this.geometry);
      return { fused, lrSegTimes1MinusAtt, hrSeg };
    });
  }
}
