// From the run config to the model's option objects (the model knows nothing of configs).
import type { PipaConfig } from '../config/schema.js';
import { MIT_PRESETS, type MitConfig } from '../model/mit/mit-config.js';
import type { SegmentorConfig } from '../model/segmentor-config.js';
import { PIPA_PROJ_DIM } from '../model/segmentor.js';
import type { UdaStepOptions } from '../model/uda/uda-step.js';
import type { TrainerOptions } from '../model/uda/uda-trainer.js';
import { UdaModel } from '../model/uda/uda-model.js';
import { CodeExactPatchTerm, IntentPatchTerm, type PatchTermConfig } from '../model/uda/patch-terms.js';

export function mitConfigOf(c: PipaConfig): MitConfig {
  const b = c.model.backbone;
  const base = b.preset ? MIT_PRESETS[b.preset] : null;
  const pick = <K extends 'embedDims' | 'depths' | 'numHeads' | 'srRatios' | 'mlpRatios'>(k: K): number[] => {
    const v = b[k] ?? base?.[k];
    if (!v) throw new Error(`model.backbone.${k} is required when no preset is given`);
    return [...v];
  };
  return {
    embedDims: pick('embedDims'),
    depths: pick('depths'),
    numHeads: pick('numHeads'),
    srRatios: pick('srRatios'),
    mlpRatios: pick('mlpRatios'),
    qkvBias: true,
    dropPathRate: b.dropPathRate,
  };
}

export function segmentorConfigOf(c: PipaConfig): SegmentorConfig {
  const h = c.model.hrda;
  return {
    backbone: mitConfigOf(c),
    numClasses: c.model.numClasses,
    headChannels: c.model.decoder.channels,
    attentionEmbedDim: h.attentionEmbedDim,
    dropoutRatio: c.model.decoder.dropoutRatio,
    asppDilations: [...c.model.decoder.asppDilations],
    attentionClasswise: h.attentionClasswise,
    scales: [h.scales[0], h.scales[1]],
    hrCropSize: [h.hrCropSize[0], h.hrCropSize[1]],
    cropCoordDivisible: h.cropCoordDivisible,
    testCrop: [c.model.test.crop[0], c.model.test.crop[1]],
    testStride: [c.model.test.stride[0], c.model.test.stride[1]],
    pipaHeads: true,
    projDim: c.pipa.pixel.projDim ?? PIPA_PROJ_DIM,
  };
}

export function stepOptionsOf(c: PipaConfig): UdaStepOptions {
  const u = c.uda;
  const p = c.pipa.pixel;
  return {
    numClasses: c.model.numClasses,
    train: true,
    pseudoThreshold: u.pseudoThreshold,
    hrLossWeight: c.model.hrda.hrLossWeight,
    selfTraining: u.selfTraining,
    mix: u.mix,
    featureDistance: { enabled: u.featureDistance.enabled, lambda: u.featureDistance.lambda, classes: u.featureDistance.classes, minRatio: u.featureDistance.scaleMinRatio },
    strong: { jitterP: u.colorJitter.probability, jitterStrength: u.colorJitter.strength, blur: u.blur, mean: c.data.mean, std: c.data.std },
    pixel: { enabled: p.enabled, mode: p.mode, weight: p.weight, temperature: p.temperature, baseTemperature: p.baseTemperature, maxSamples: p.maxSamples, maxViews: p.maxViews },
    patch: null,
  };
}

/** The student/teacher/ImageNet model of a run (with the patch heads when the patch loss is on). */
export function buildUdaModel(c: PipaConfig): UdaModel {
  return new UdaModel(segmentorConfigOf(c), c.seed, { patchHeads: c.pipa.patch.enabled ? { projDim: c.pipa.patch.projDim } : null });
}

function patchTermOf(c: PipaConfig): TrainerOptions['patch'] {
  const p = c.pipa.patch;
  if (!p.enabled || !c.uda.selfTraining) return null;
  const tc: PatchTermConfig = {
    mode: p.mode,
    weight: p.weight,
    temperature: p.temperature,
    threshold: p.posThreshold,
    negativesPerView: p.negativesPerView,
    bankSteps: p.bankSteps,
    cropSize: p.cropSize,
    iouRange: p.iouRange,
    train: true,
  };
  return { term: p.mode === 'code-exact' ? new CodeExactPatchTerm(tc) : new IntentPatchTerm(tc), startIter: p.startIter };
}

export function trainerOptionsOf(c: PipaConfig): TrainerOptions {
  const o = c.optimizer;
  const s = c.schedule;
  return {
    step: stepOptionsOf(c),
    optimizer: {
      lr: o.lr,
      betas: [o.betas[0], o.betas[1]],
      eps: o.eps,
      weightDecay: o.weightDecay,
    },
    schedule: { maxIters: s.maxIters, power: s.power, minLr: s.minLr, warmupIters: s.warmupIters, warmupRatio: s.warmupRatio },
    emaAlpha: c.uda.alpha,
    patch: patchTermOf(c),
  };
}
