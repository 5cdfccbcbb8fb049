// The two patch-contrast terms a UDA step can carry (PatchTerm of uda-step.ts).
// Both take two overlapping crops of the CURRENT target batch (one geometry per step,
// shared by the batch; offset a multiple of 8 px) — the released code instead re-reads
// one fixed Cityscapes image every iteration (SPEC §7.2), which we do not reproduce.
//  - code-exact: EMA-teacher HRDA logits of each view → 2×2 pool → `project`, negatives
//    from a FIFO bank, untrained `classifier` confidences, index-scale quirk; only the
//    `project` MLP learns (SPEC §1.8, §7.1).
//  - intent: the STUDENT's fused HRDA logits of each view (stride 4) → `project`, teacher
//    pseudo-labels/confidences of each view decide negatives and direction, overlap aligned
//    at the true stride: the segmentation network learns from it.
import * as tf from '@tensorflow/tfjs';
import type { ForwardMode } from '../layers/forward-mode.js';
import { EVAL_MODE } from '../layers/forward-mode.js';
import { FeatureBank } from '../losses/feature-bank.js';
import { cropPatchPair, patchPairGeometry, type PatchPair } from '../losses/patch-pairs.js';
import {
  PATCH_CONTRAST_CODE_EXACT,
  drawBankSelection,
  patchContrastLoss,
  preparePatchContrast,
  projectPatch,
  type PatchContrastOptions,
  type PatchContrastStep,
} from '../losses/patch-contrast.js';
import { patchContrastIntent } from '../losses/patch-contrast-intent.js';
import type { PatchContext, PatchTerm } from './uda-step.js';

export interface PatchTermConfig {
  mode: 'code-exact' | 'intent';
  weight: number;
  temperature: number;
  threshold: number;
  negativesPerView: number;
  bankSteps: number;
  cropSize: number;
  iouRange: readonly [number, number];
  /** false = eval-mode replay. */
  train: boolean;
}

/** Offsets of the two views are multiples of this many pixels (CAC's stride). */
const PAIR_STRIDE = 8;

function drawPair(ctx: PatchContext, c: PatchTermConfig): PatchPair {
  const [, h, w] = ctx.batch.tgtImg.shape;
  const crop = Math.min(c.cropSize, h, w) - (Math.min(c.cropSize, h, w) % PAIR_STRIDE);
  return patchPairGeometry(ctx.draws.patchRng, h, w, crop, PAIR_STRIDE, c.iouRange);
}

function teacherMode(c: PatchTermConfig): ForwardMode {
  return c.train ? { bn: 'batch', stochastic: false } : EVAL_MODE;
}

/** The released code's patch loss; the bank lives as long as the term (one per run). */
export class CodeExactPatchTerm implements PatchTerm {
  readonly weight = 1; // patchContrastLoss already multiplies by the configured weight
  private readonly bank: FeatureBank;
  private readonly opts: PatchContrastOptions;
  private step: PatchContrastStep | null = null;

  constructor(readonly c: PatchTermConfig) {
    this.bank = new FeatureBank(c.bankSteps);
    this.opts = { ...PATCH_CONTRAST_CODE_EXACT, weight: c.weight, temperature: c.temperature, threshold: c.threshold, selectedNum: c.negativesPerView, stepSave: c.bankSteps - 1 };
  }

  prepare(ctx: PatchContext): void {
    const pair = drawPair(ctx, this.c);
    const B = ctx.batch.tgtImg.shape[0];
    const [v1, v2] = cropPatchPair(ctx.batch.tgtImg, pair);
    const seg = ctx.model.segmentor;
    const fused1 = seg.encodeDecode(ctx.model.teacher, v1, teacherMode(this.c));
    const fused2 = seg.encodeDecode(ctx.model.teacher, v2, teacherMode(this.c));
    const o1 = pair.overlap1;
    const o2 = pair.overlap2;
    const rep = <T>(v: T): T[] => Array.from({ length: B }, () => v);
    const rows = B * Math.floor(fused1.shape[1] / 2) * Math.floor(fused1.shape[2] / 2);
    this.step = preparePatchContrast(
      ctx.model.extras,
      fused1,
      fused2,
      {
        ul1: rep([o1.y, o1.x] as const),
        br1: rep([o1.y + o1.h, o1.x + o1.w] as const),
        ul2: rep([o2.y, o2.x] as const),
        br2: rep([o2.y + o2.h, o2.x + o2.w] as const),
        flip1: rep(pair.flip1),
        flip2: rep(pair.flip2),
      },
      drawBankSelection(ctx.draws.patchRng, rows, this.opts.selectedNum),
      this.bank,
      this.opts,
    );
    tf.dispose([v1, v2, fused1, fused2]);
  }

  loss(ctx: PatchContext): { loss: tf.Scalar; logVars: Record<string, number> } {
    if (!this.step) throw new Error('CodeExactPatchTerm.loss before prepare');
    return { loss: patchContrastLoss(ctx.model.extras, this.step, this.opts).loss, logVars: {} };
  }

  finish(): void {
    this.step?.dispose();
    this.step = null;
  }

  dispose(): void {
    this.finish();
    this.bank.dispose();
  }
}

/** The paper's patch loss through the student. */
export class IntentPatchTerm implements PatchTerm {
  private pair: PatchPair | null = null;
  private views: [tf.Tensor4D, tf.Tensor4D] | null = null;
  private teacher: { label1: Int32Array; label2: Int32Array; conf1: Float32Array; conf2: Float32Array } | null = null;

  constructor(readonly c: PatchTermConfig) {}

  get weight(): number {
    return this.c.weight;
  }

  prepare(ctx: PatchContext): void {
    this.pair = drawPair(ctx, this.c);
    this.views = cropPatchPair(ctx.batch.tgtImg, this.pair);
    const seg = ctx.model.segmentor;
    // Teacher labels/confidences of each view separately, pooled to the student's stride 4.
    const read = (v: tf.Tensor4D) =>
      tf.tidy(() => {
        const logits = tf.avgPool(seg.encodeDecode(ctx.model.teacher, v, teacherMode(this.c)), 4, 4, 'valid');
        const p = tf.softmax(logits, -1);
        return { label: tf.argMax(p, -1).dataSync() as Int32Array, conf: tf.max(p, -1).dataSync() as Float32Array };
      });
    const t1 = read(this.views[0]);
    const t2 = read(this.views[1]);
    this.teacher = { label1: t1.label, label2: t2.label, conf1: t1.conf, conf2: t2.conf };
  }

  loss(ctx: PatchContext): { loss: tf.Scalar; logVars: Record<string, number> } {
    if (!this.views || !this.pair || !this.teacher) throw new Error('IntentPatchTerm.loss before prepare');
    const seg = ctx.model.segmentor;
    const embed = (v: tf.Tensor4D) => {
      const [, h, w] = v.shape;
      const box = seg.randomCropBox(ctx.draws.patchRng, h, w);
      return projectPatch(ctx.model.extras, seg.forwardTrain(ctx.model.student, v, box, ctx.mode).fused);
    };
    const B = this.views[0].shape[0];
    const loss = patchContrastIntent({
      f1: embed(this.views[0]),
      f2: embed(this.views[1]),
      teacherLabel1: this.teacher.label1,
      teacherLabel2: this.teacher.label2,
      teacherConf1: this.teacher.conf1,
      teacherConf2: this.teacher.conf2,
      pairs: Array.from({ length: B }, () => ({ ...this.pair!, stride: 4 })),
      temperature: this.c.temperature,
      threshold: this.c.threshold,
    });
    return { loss, logVars: {} };
  }

  finish(): void {
    if (this.views) tf.dispose(this.views);
    this.views = null;
    this.teacher = null;
  }

  dispose(): void {
    this.finish();
  }
}
