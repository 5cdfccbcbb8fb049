// The PiPa/HRDA segmentor: MiT backbone (`backbone.*`), HRDA head (`decode_head.head.*`,
// `decode_head.scale_attention.*`) and PiPa's training-only heads (`cls_head.*`,
// `proj_head.*`), declared under the original PyTorch names. It holds no tensors: every
// method takes the ParamSource (student, EMA teacher or ImageNet store) to run with.
import * as tf from '@tensorflow/tfjs';
import type { ParamRegistry, ParamSource } from './params.js';
import type { ForwardMode } from './layers/forward-mode.js';
import type { Rng } from '../common/random.js';
import { MixVisionTransformer } from './mit/mix-vision-transformer.js';
import { HrdaHead } from './heads/hrda-head.js';
import { PipaHeads, type PipaHeadsOutput } from './heads/pipa-heads.js';
import { randomCropBox, type CropBox } from './hrda/crop-box.js';
import { hrdaTrainForward, type TrainForwardOutput } from './hrda/train-forward.js';
import { hrdaEncodeDecode } from './hrda/encode-decode.js';
import { slideInference, slideLogits } from './hrda/slide-inference.js';
import { rescaleImage } from './hrda/encoder.js';
import { hrSlideStride, sortedScales, validateSegmentorConfig, type SegmentorConfig } from './segmentor-config.js';

/** PiPa hard-codes proj_head's width. */
export const PIPA_PROJ_DIM = 256;

export class Segmentor {
  readonly backbone: MixVisionTransformer;
  readonly decodeHead: HrdaHead;
  /** null when cfg.pipaHeads is false. */
  readonly pipa: PipaHeads | null;

  constructor(
    registry: ParamRegistry,
    readonly cfg: SegmentorConfig,
  ) {
    validateSegmentorConfig(cfg);
    this.backbone = new MixVisionTransformer(registry.scope('backbone'), cfg.backbone);
    this.decodeHead = new HrdaHead(registry.scope('decode_head'), {
      inChannels: this.backbone.stageChannels,
      numClasses: cfg.numClasses,
      channels: cfg.headChannels,
      embedDims: cfg.decoderEmbedDims ?? cfg.headChannels,
      dropoutRatio: cfg.dropoutRatio,
      asppDilations: cfg.asppDilations,
      attentionEmbedDim: cfg.attentionEmbedDim,
      attentionClasswise: cfg.attentionClasswise,
      scales: sortedScales(cfg),
    });
    this.pipa = cfg.pipaHeads
      ? new PipaHeads(registry, {
          // PiPa writes 1024 = MiT-B5's Σ widths; the sum keeps that true for every backbone.
          inChannels: this.backbone.stageChannels.reduce((a, b) => a + b, 0),
          numClasses: cfg.numClasses,
          projDim: cfg.projDim,
        })
      : null;
  }

  /** Backbone levels of an image batch (NHWC). */
  extractFeatures(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[] {
    return this.backbone.forward(p, x, mode);
  }

  /**
   * HRDAEncoderDecoder.extract_feat with feature_scale = the LR scale (PiPa: 0.5): backbone
   * levels of the image resized by that scale — what the ImageNet model gives FD.
   */
  contextFeatures(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[] {
    return tf.tidy(() => this.backbone.forward(p, rescaleImage(x, this.decodeHead.geometry.lrScale), mode));
  }

  /**
   * Training forward on one batch with the HR detail crop `box` (y1,y2,x1,x2 in HR-image
   * pixels; the same box for the whole batch). fused is on the full-image/os grid, hrSeg on
   * the crop/os grid, lrSegTimes1MinusAtt on the LR/os grid.
   */
  forwardTrain(p: ParamSource, x: tf.Tensor4D, box: CropBox, mode: ForwardMode): TrainForwardOutput {
    return hrdaTrainForward(this.backbone, this.decodeHead, p, x, box, mode);
  }

  /** cls_head logits and L2-normalised proj_head embedding from the HR-crop features. */
  pipaHeads(p: ParamSource, hrFeats: readonly tf.Tensor4D[], mode: ForwardMode): PipaHeadsOutput {
    if (!this.pipa) throw new Error('this segmentor was built with pipaHeads: false');
    return this.pipa.forward(p, hrFeats, mode);
  }

  /** HRDA inference logits [B,H,W,K] at the input size (LR whole image + overlapping HR windows). */
  encodeDecode(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return hrdaEncodeDecode(this.backbone, this.decodeHead, { crop: this.cfg.hrCropSize, stride: hrSlideStride(this.cfg) }, p, x, mode);
  }

  /** test_cfg slide logits [B,H,W,K] at the input size (before rescale and softmax). */
  slideLogits(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return slideLogits((w) => this.encodeDecode(p, w, mode), this.testSlide(), x);
  }

  /** Test-time inference: batched slide windows, rescale to oriShape, softmax → probabilities NHWC. */
  slideInference(p: ParamSource, x: tf.Tensor4D, oriShape: [number, number], mode: ForwardMode): tf.Tensor4D {
    return slideInference((w) => this.encodeDecode(p, w, mode), this.testSlide(), x, oriShape);
  }

  /** HRDA get_crop_bbox on the HR-scaled image of an imgH×imgW input. */
  randomCropBox(rng: Rng, imgH: number, imgW: number): CropBox {
    const hr = this.decodeHead.geometry.hrScale;
    return randomCropBox(rng, Math.floor(imgH * hr), Math.floor(imgW * hr), this.cfg.hrCropSize, this.cfg.cropCoordDivisible);
  }

  private testSlide(): { crop: [number, number]; stride: [number, number] } {
    return { crop: this.cfg.testCrop, stride: this.cfg.testStride };
  }
}
