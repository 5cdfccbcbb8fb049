// One PiPa + HRDA training iteration on one (micro-)batch: SPEC §1.3's steps in order,
// each a call into a small named piece. It returns gradients (to be averaged across
// workers by the caller) and never touches the optimizer: the EMA update happens before
// (emaBeforeStep), AdamW and the BN running-stat updates after (trainer).
import * as tf from '@tensorflow/tfjs';
import type { BnUpdate, ForwardMode } from '../layers/forward-mode.js';
import { EVAL_MODE } from '../layers/forward-mode.js';
import { rescaleImage } from '../hrda/encoder.js';
import { hrdaSegLoss } from '../losses/cross-entropy.js';
import { maskedFeatDist, thingMask } from '../losses/feature-distance.js';
import { pixelContrast } from '../losses/pixel-contrast.js';
import { CODE_EXACT_SAMPLING, FIXED_SAMPLING, type ContrastLabelMode } from '../losses/anchor-sampling.js';
import { strongTransform } from '../augment/strong-transform.js';
import { pseudoLabels } from './pseudo-label.js';
import { classMix, classMixMasks } from './class-mix.js';
import { checkBatch, type UdaBatch } from './batch-check.js';
import type { StepDraws } from './step-draws.js';
import type { UdaModel } from './uda-model.js';

export interface UdaStepOptions {
  numClasses: number;
  /** false = the whole step in eval mode (BN running stats, no dropout) — the fixture replay. */
  train: boolean;
  pseudoThreshold: number;
  hrLossWeight: number;
  selfTraining: boolean;
  mix: 'class' | 'none';
  featureDistance: { enabled: boolean; lambda: number; classes: readonly number[]; minRatio: number };
  strong: { jitterP: number; jitterStrength: number; blur: boolean; mean: readonly number[]; std: readonly number[] };
  pixel: {
    enabled: boolean;
    mode: 'fixed' | 'code-exact';
    weight: number;
    temperature: number;
    baseTemperature: number;
    maxSamples: number;
    maxViews: number;
  };
  /** The patch-contrast term of this iteration (null = off or before its start iteration). */
  patch: PatchTerm | null;
}

/** Context a patch-contrast term gets inside the gradient closure. */
export interface PatchContext {
  model: UdaModel;
  batch: UdaBatch;
  draws: StepDraws;
  mode: ForwardMode;
  /** Teacher pseudo-labels / confidences of the target batch at image resolution. */
  pseudoLabel: tf.Tensor3D;
  pseudoProb: tf.Tensor3D;
}

/** A patch-contrast implementation: prepare (outside the closure) and loss (inside). */
export interface PatchTerm {
  weight: number;
  prepare?(ctx: PatchContext): void;
  loss(ctx: PatchContext): { loss: tf.Scalar; logVars: Record<string, number> };
  /** Called after the gradients are taken (e.g. to push to a feature bank). */
  finish?(): void;
}

export interface UdaStepResult {
  /** The total objective of SPEC §1.4. */
  loss: number;
  /** Gradients by parameter name; parameters that got none are absent. Caller disposes. */
  grads: Map<string, tf.Tensor>;
  /** Loss parts and accuracies under the original's log_vars names. */
  logVars: Record<string, number>;
  /** BN statistics of the student (both stages, call order) and teacher; caller applies. */
  studentBn: BnUpdate[];
  teacherBn: BnUpdate[];
}

/** Intermediates a replay test may inspect (called synchronously; clone what you keep). */
export type StepInspector = (name: string, t: tf.Tensor) => void;

export function udaStep(
  model: UdaModel,
  batch: UdaBatch,
  draws: StepDraws,
  o: UdaStepOptions,
  inspect: StepInspector = () => {},
): UdaStepResult {
  // 0. Validate before any compute.
  const srcLabelsHost = checkBatch(batch, o.numClasses);
  const seg = model.segmentor;
  const [B, H, W] = batch.srcLabel.shape;
  const studentBn: BnUpdate[] = [];
  const teacherBn: BnUpdate[] = [];
  const studentMode: ForwardMode = o.train ? { bn: 'batch', stochastic: true, rng: draws.dropoutRng, bnUpdates: studentBn } : EVAL_MODE;
  // Teacher: dropout/DropPath off, BN in train mode (batch statistics) — SPEC §1.3 step 5.
  const teacherMode: ForwardMode = o.train ? { bn: 'batch', stochastic: false, bnUpdates: teacherBn } : EVAL_MODE;
  const [box1, box2] = draws.boxes;

  const held: tf.Tensor[] = [];
  const hold = <T extends tf.Tensor>(t: T): T => {
    held.push(t);
    return t;
  };
  try {
    // 4 (inputs). ImageNet features of the context (LR) image, and the thing-class mask.
    const fd = o.featureDistance;
    let fImnet: tf.Tensor4D | null = null;
    let fdMask: tf.Tensor3D | null = null;
    if (fd.enabled) {
      fImnet = hold(
        tf.tidy(() => {
          const lr = rescaleImage(batch.srcImg, seg.decodeHead.geometry.lrScale);
          const feats = seg.extractFeatures(model.imnet, lr, EVAL_MODE);
          return feats[feats.length - 1];
        }),
      );
      const tm = thingMask(srcLabelsHost, [B, H, W], [fImnet.shape[1], fImnet.shape[2]], {
        thingClasses: fd.classes,
        minRatio: fd.minRatio,
        numClasses: o.numClasses,
      });
      fdMask = hold(tf.tensor3d(Int32Array.from(tm.mask), tm.shape, 'int32'));
      inspect('fd.gt_rescaled', hold(tf.tensor3d(tm.labelsRescaled, tm.shape, 'int32')));
    }

    // 5–7. Teacher pseudo-labels, ClassMix, strong augmentation (no gradients).
    let mixed: { img: tf.Tensor4D; label: tf.Tensor3D; weight: tf.Tensor3D } | null = null;
    let pseudo: { label: tf.Tensor3D; prob: tf.Tensor3D } | null = null;
    let pseudoFraction = NaN;
    if (o.selfTraining) {
      const logits = hold(seg.encodeDecode(model.teacher, batch.tgtImg, teacherMode));
      inspect('ema_logits', logits);
      const pl = pseudoLabels(logits, { threshold: o.pseudoThreshold, validMask: batch.validPseudoMask });
      hold(pl.label);
      hold(pl.prob);
      hold(pl.weight);
      pseudo = { label: pl.label, prob: pl.prob };
      pseudoFraction = pl.fractionConfident;
      inspect('pseudo_label', pl.label);
      inspect('pseudo_weight', pl.weight);
      let m: { img: tf.Tensor4D; label: tf.Tensor3D; weight: tf.Tensor3D };
      if (o.mix === 'class') {
        const cm = classMixMasks(batch.srcLabel, draws.classChooser);
        hold(cm.masks);
        inspect('mix_masks', cm.masks);
        m = classMix(cm.masks, { img: batch.srcImg, label: batch.srcLabel }, { img: batch.tgtImg, pseudoLabel: pl.label, pseudoWeight: pl.weight });
      } else {
        m = { img: tf.clone(batch.tgtImg), label: tf.clone(pl.label), weight: tf.clone(pl.weight) };
      }
      hold(m.img);
      hold(m.label);
      hold(m.weight);
      const aug = strongTransform(m.img, draws.gates, draws.augParams, draws.augRng, {
        jitterP: o.strong.jitterP,
        jitterStrength: o.strong.jitterStrength,
        blur: o.strong.blur,
        mean: o.strong.mean,
        std: o.strong.std,
      });
      mixed = { img: hold(aug.image), label: m.label, weight: m.weight };
      inspect('mixed_img', mixed.img);
      inspect('mixed_lbl', mixed.label);
      inspect('mixed_seg_weight', mixed.weight);
    }

    const patchCtx: PatchContext | null =
      o.patch && pseudo ? { model, batch, draws, mode: studentMode, pseudoLabel: pseudo.label, pseudoProb: pseudo.prob } : null;
    if (o.patch && patchCtx) o.patch.prepare?.(patchCtx);

    // The whole objective (SPEC §1.4) in one closure; scalars for the logs are kept out.
    const parts: Record<string, tf.Scalar> = {};
    const logExtra: Record<string, number> = {};
    const keepPart = (name: string, s: tf.Scalar) => {
      parts[name] = tf.keep(tf.clone(s));
    };
    const varList = model.trainable().map(([, v]) => v);
    const { value, grads } = tf.variableGrads(() => {
      // 3. Source forward (stage 1): fused + detail CE, pixel contrast.
      const out1 = seg.forwardTrain(model.student, batch.srcImg, box1, studentMode);
      const l1 = hrdaSegLoss({ fused: out1.fused, hrSeg: out1.hrSeg, labels: batch.srcLabel, cropBox: box1, hrLossWeight: o.hrLossWeight });
      let total: tf.Scalar = l1.total;
      let decodeLoss: tf.Scalar = l1.fusedLoss;
      if (o.pixel.enabled) {
        const heads = seg.pipaHeads(model.student, out1.hrFeats, studentMode);
        const predict = tf.argMax(heads.clsSeg, -1).dataSync() as Int32Array;
        const labelMode: ContrastLabelMode =
          o.pixel.mode === 'fixed' ? { kind: 'detail-crop', box: { y1: box1[0], y2: box1[1], x1: box1[2], x2: box1[3] } } : { kind: 'code-exact' };
        const base = o.pixel.mode === 'fixed' ? FIXED_SAMPLING : CODE_EXACT_SAMPLING;
        const pc = pixelContrast({
          embedding: heads.embed,
          labels: srcLabelsHost,
          labelShape: [B, H, W],
          predict,
          labelMode,
          sampling: { ...base, maxSamples: o.pixel.maxSamples, maxViews: o.pixel.maxViews },
          perms: draws.pixelPerms,
          loss: { temperature: o.pixel.temperature, baseTemperature: o.pixel.baseTemperature },
        });
        keepPart('loss_contrast', pc.loss);
        const weighted = tf.mul(pc.loss, tf.scalar(o.pixel.weight)) as tf.Scalar;
        decodeLoss = tf.add(decodeLoss, weighted) as tf.Scalar;
        total = tf.add(total, weighted) as tf.Scalar;
      }
      keepPart('decode.loss_seg', decodeLoss);
      keepPart('decode.acc_seg', l1.fusedAcc);
      keepPart('decode.hr.loss_seg', l1.hrLoss);
      keepPart('decode.hr.acc_seg', l1.hrAcc);
      // 4. ImageNet feature distance on the context features.
      if (fImnet && fdMask) {
        const fS = out1.lrFeats[out1.lrFeats.length - 1];
        const fdLoss = tf.mul(maskedFeatDist(fS, fImnet, fdMask), tf.scalar(fd.lambda)) as tf.Scalar;
        keepPart('src.loss_imnet_feat_dist', fdLoss);
        total = tf.add(total, fdLoss) as tf.Scalar;
      }
      // 8. Mixed forward (stage 2) with the pseudo-label weights.
      if (mixed) {
        const out2 = seg.forwardTrain(model.student, mixed.img, box2, studentMode);
        const l2 = hrdaSegLoss({ fused: out2.fused, hrSeg: out2.hrSeg, labels: mixed.label, weight: mixed.weight, cropBox: box2, hrLossWeight: o.hrLossWeight });
        keepPart('mix.decode.loss_seg', l2.fusedLoss);
        keepPart('mix.decode.acc_seg', l2.fusedAcc);
        keepPart('mix.decode.hr.loss_seg', l2.hrLoss);
        keepPart('mix.decode.hr.acc_seg', l2.hrAcc);
        total = tf.add(total, l2.total) as tf.Scalar;
      }
      // 9. Patch contrast (from its start iteration on).
      if (o.patch && patchCtx) {
        const pl = o.patch.loss(patchCtx);
        Object.assign(logExtra, pl.logVars);
        const weighted = tf.mul(pl.loss, tf.scalar(o.patch.weight)) as tf.Scalar;
        keepPart('mix.loss_patch', weighted);
        total = tf.add(total, weighted) as tf.Scalar;
      }
      return total;
    }, varList);
    o.patch?.finish?.();

    const nameOf = new Map(model.trainable().map(([name, v]) => [v.name, name]));
    const named = new Map<string, tf.Tensor>();
    for (const [vname, g] of Object.entries(grads)) if (g) named.set(nameOf.get(vname)!, g);
    const logVars: Record<string, number> = { ...logExtra };
    for (const [k, s] of Object.entries(parts)) {
      logVars[k] = s.dataSync()[0];
      s.dispose();
    }
    if (o.selfTraining) logVars['pseudo_fraction'] = pseudoFraction;
    const loss = value.dataSync()[0];
    value.dispose();
    return { loss, grads: named, logVars, studentBn, teacherBn };
  } finally {
    for (const t of held) t.dispose();
  }
}
