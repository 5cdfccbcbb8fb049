// Everything that shapes the PiPa/HRDA segmentor, in one validated object.
import type { MitConfig } from './mit/mit-config.js';

export interface SegmentorConfig {
  backbone: MitConfig;
  numClasses: number;
  /** DAFormer `channels` (fusion output width). */
  headChannels: number;
  /** decoder_params.embed_dims of the main head; defaults to headChannels (equal in every published config). */
  decoderEmbedDims?: number;
  /** HRDA scale-attention width (its channels and embed dims). */
  attentionEmbedDim: number;
  dropoutRatio: number;
  asppDilations: number[];
  attentionClasswise: boolean;
  /** HRDA scales in any order; the smaller is the context (LR) scale. [1, 0.5] in PiPa. */
  scales: [number, number];
  /** HR detail crop [h, w] in HR-image pixels (training crop and HR slide window). */
  hrCropSize: [number, number];
  cropCoordDivisible: number;
  /** HR slide stride at inference; default hrCropSize/2 (hr_slide_overlapping=True). */
  hrSlideStride?: [number, number];
  /** test_cfg slide window and stride (batched slide). */
  testCrop: [number, number];
  testStride: [number, number];
  /** Declare PiPa's cls_head / proj_head. */
  pipaHeads: boolean;
  /** proj_head output width (256). */
  projDim: number;
}

export class SegmentorConfigError extends Error {
  constructor(message: string) {
    super(`invalid segmentor config: ${message}`);
    this.name = 'SegmentorConfigError';
  }
}

const isPair = (v: unknown): boolean => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0);

export function validateSegmentorConfig(cfg: SegmentorConfig): void {
  const posInt = { numClasses: cfg.numClasses, headChannels: cfg.headChannels, attentionEmbedDim: cfg.attentionEmbedDim, cropCoordDivisible: cfg.cropCoordDivisible, projDim: cfg.projDim };
  for (const [k, v] of Object.entries(posInt)) if (!(Number.isInteger(v) && v > 0)) throw new SegmentorConfigError(`${k} must be a positive integer, got ${v}`);
  if (cfg.decoderEmbedDims !== undefined && !(Number.isInteger(cfg.decoderEmbedDims) && cfg.decoderEmbedDims > 0)) {
    throw new SegmentorConfigError(`decoderEmbedDims must be a positive integer, got ${cfg.decoderEmbedDims}`);
  }
  if (!(cfg.dropoutRatio >= 0 && cfg.dropoutRatio < 1)) throw new SegmentorConfigError(`dropoutRatio must be in [0,1), got ${cfg.dropoutRatio}`);
  if (!cfg.asppDilations.length || !cfg.asppDilations.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new SegmentorConfigError(`asppDilations must be positive integers, got ${JSON.stringify(cfg.asppDilations)}`);
  }
  if (!(cfg.scales.length === 2 && cfg.scales.every((s) => s > 0))) throw new SegmentorConfigError(`scales must be two positive numbers, got ${JSON.stringify(cfg.scales)}`);
  const pairs = { hrCropSize: cfg.hrCropSize, testCrop: cfg.testCrop, testStride: cfg.testStride, ...(cfg.hrSlideStride ? { hrSlideStride: cfg.hrSlideStride } : {}) };
  for (const [k, v] of Object.entries(pairs)) if (!isPair(v)) throw new SegmentorConfigError(`${k} must be two positive integers, got ${JSON.stringify(v)}`);
}

/** [lr, hr] as HRDAEncoderDecoder sorts them. */
export function sortedScales(cfg: SegmentorConfig): [number, number] {
  const [a, b] = cfg.scales;
  return a <= b ? [a, b] : [b, a];
}

/** HR slide stride: the configured one or crop // 2. */
export function hrSlideStride(cfg: SegmentorConfig): [number, number] {
  return cfg.hrSlideStride ?? [Math.floor(cfg.hrCropSize[0] / 2), Math.floor(cfg.hrCropSize[1] / 2)];
}
