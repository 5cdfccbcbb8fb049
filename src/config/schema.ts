// The run configuration: one typed, validated tree. Every object is strict, so a typo
// in a config file or a --set override is an error naming the field, not a silent no-op.
import { z } from 'zod';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const pair = z.tuple([posInt, posInt]);
const prob = z.number().min(0).max(1);

export const MIT_PRESET_NAMES = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'] as const;

const backbone = z
  .object({
    preset: z.enum(MIT_PRESET_NAMES).nullable().default('b5'),
    embedDims: z.array(posInt).length(4).nullable().default(null),
    depths: z.array(posInt).length(4).nullable().default(null),
    numHeads: z.array(posInt).length(4).nullable().default(null),
    srRatios: z.array(posInt).length(4).nullable().default(null),
    mlpRatios: z.array(posInt).length(4).nullable().default(null),
    dropPathRate: z.number().min(0).max(1).default(0.1),
  })
  .strict();

const model = z
  .object({
    backbone: backbone.prefault({}),
    numClasses: posInt.default(19),
    pretrained: z.string().nullable().default(null),
    decoder: z
      .object({
        channels: posInt.default(256),
        dropoutRatio: prob.default(0.1),
        asppDilations: z.array(posInt).min(1).default([1, 6, 12, 18]),
      })
      .strict()
      .prefault({}),
    hrda: z
      .object({
        scales: z.tuple([z.number().positive(), z.number().positive()]).default([1, 0.5]),
        hrCropSize: pair.default([512, 512]),
        featureScale: z.number().positive().default(0.5),
        cropCoordDivisible: posInt.default(8),
        attentionEmbedDim: posInt.default(256),
        attentionClasswise: z.boolean().default(true),
        hrLossWeight: prob.default(0.1),
        hrSlideInference: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    test: z
      .object({
        crop: pair.default([1024, 1024]),
        stride: pair.default([512, 512]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const uda = z
  .object({
    alpha: z.number().min(0).max(1).default(0.999),
    pseudoThreshold: prob.default(0.968),
    cropPseudoMargins: z.tuple([nonNegInt, nonNegInt, nonNegInt, nonNegInt]).default([30, 240, 30, 30]),
    featureDistance: z
      .object({
        enabled: z.boolean().default(true),
        lambda: z.number().nonnegative().default(0.005),
        classes: z.array(nonNegInt).default([6, 7, 11, 12, 13, 14, 15, 16, 17, 18]),
        scaleMinRatio: prob.default(0.75),
      })
      .strict()
      .prefault({}),
    selfTraining: z.boolean().default(true),
    mix: z.enum(['class', 'none']).default('class'),
    blur: z.boolean().default(true),
    colorJitter: z
      .object({ strength: z.number().nonnegative().default(0.2), probability: prob.default(0.2) })
      .strict()
      .prefault({}),
  })
  .strict();

const pipa = z
  .object({
    pixel: z
      .object({
        enabled: z.boolean().default(true),
        mode: z.enum(['fixed', 'code-exact']).default('fixed'),
        weight: z.number().nonnegative().default(0.1),
        temperature: z.number().positive().default(0.1),
        baseTemperature: z.number().positive().default(0.07),
        maxSamples: posInt.default(1024),
        maxViews: posInt.default(100),
        projDim: posInt.default(256),
      })
      .strict()
      .prefault({}),
    patch: z
      .object({
        enabled: z.boolean().default(true),
        mode: z.enum(['intent', 'code-exact']).default('intent'),
        startIter: nonNegInt.default(10000),
        weight: z.number().nonnegative().default(0.01),
        temperature: z.number().positive().default(0.1),
        negativesPerView: posInt.default(1600),
        bankSteps: posInt.default(3),
        posThreshold: prob.default(0.9),
        projDim: posInt.default(128),
        cropSize: posInt.default(720),
        iouRange: z.tuple([prob, prob]).default([0.1, 1.0]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const optimizer = z
  .object({
    type: z.literal('AdamW').default('AdamW'),
    lr: z.number().positive().default(6e-5),
    betas: z.tuple([prob, prob]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    weightDecay: z.number().nonnegative().default(0.01),
    headLrMult: z.number().positive().default(10),
    normDecayMult: z.number().nonnegative().default(0),
  })
  .strict();

const schedule = z
  .object({
    maxIters: posInt.default(60000),
    power: z.number().positive().default(1.0),
    minLr: z.number().nonnegative().default(0),
    warmupIters: nonNegInt.default(1500),
    warmupRatio: z.number().positive().default(1e-6),
  })
  .strict();

const dataset = z
  .object({
    type: z.enum(['gta', 'synthia', 'cityscapes']),
    root: z.string().min(1),
    resize: pair,
    crop: pair,
    catMaxRatio: prob.nullable().default(null),
  })
  .strict();

const data = z
  .object({
    source: dataset,
    target: dataset,
    val: z
      .object({ root: z.string().min(1), split: z.string().default('val'), limit: posInt.nullable().default(null) })
      .strict(),
    rcs: z
      .object({
        enabled: z.boolean().default(true),
        temperature: z.number().positive().default(0.01),
        minPixels: nonNegInt.default(3000),
        minCropRatio: z.number().positive().default(2.0),
      })
      .strict()
      .prefault({}),
    mean: z.tuple([z.number(), z.number(), z.number()]).default([123.675, 116.28, 103.53]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([58.395, 57.12, 57.375]),
    synthetic: z
      .object({
        enabled: z.boolean().default(false),
        sourceStyle: z.string().default('game'),
        targetStyle: z.string().default('city'),
        n: posInt.default(200),
        nVal: posInt.default(50),
        size: pair.default([256, 512]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const train = z
  .object({
    globalBatch: posInt.default(2),
    microBatch: posInt.nullable().default(null),
    evalInterval: posInt.default(5000),
    checkpointInterval: posInt.default(60000),
    keepCheckpoints: posInt.default(1),
    logInterval: posInt.default(50),
  })
  .strict();

const distributed = z
  .object({
    minWorkers: posInt.default(1),
    maxRestarts: nonNegInt.default(3),
    commitInterval: posInt.default(50),
    digestInterval: posInt.default(100),
    heartbeatMs: posInt.default(1000),
    failureTimeoutMs: posInt.default(5000),
    wire: z.enum(['fp32', 'fp16', 'bf16']).default('fp32'),
    chunkBytes: posInt.default(4 << 20),
    maxNonFiniteInARow: posInt.default(10),
  })
  .strict();

export const configSchema = z
  .object({
    name: z.string().min(1),
    seed: nonNegInt.default(0),
    model: model.prefault({}),
    uda: uda.prefault({}),
    pipa: pipa.prefault({}),
    optimizer: optimizer.prefault({}),
    schedule: schedule.prefault({}),
    data,
    train: train.prefault({}),
    distributed: distributed.prefault({}),
  })
  .strict();

export type PipaConfig = z.infer<typeof configSchema>;
