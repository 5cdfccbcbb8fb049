// PiPa's patch-wise contrast exactly as the HRDA variant executes it (SPEC §1.8, the
// CAC block of dacs.py). Inputs are the EMA teacher's fused logits of two overlapping
// views; only the small `project` MLP is trainable (the quirk of issue #3: no gradient
// reaches the segmentation network). Two phases, so the gradient closure stays pure:
//   preparePatchContrast — outside the closure: pooling, the frozen classifier's
//     pseudo-labels/confidences, overlap indices, and the bank update (detached rows);
//   patchContrastLoss    — inside the closure: project → overlap rows → two directional views.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';
import { conv2d } from '../layers/conv.js';
import { l2NormalizeChannels } from '../heads/pipa-heads.js';
import type { ParamScope, ParamSource } from '../params.js';
import { CAC_DIRECTIONAL, directionalContrastView, type DirectionalViewResult } from './directional-contrast.js';
import type { NegativeKeys } from './contrast-negatives.js';
import type { FeatureBank } from './feature-bank.js';
import { gatherRows } from './gather-rows.js';

export interface PatchContrastOptions {
  temperature: number;
  /** pos_thresh_value. */
  threshold: number;
  /** weight_unsup: L_patch = weight · (L1 + L2). */
  weight: number;
  /** Bank rows drawn per view per step. */
  selectedNum: number;
  /** The bank keeps stepSave + 1 steps. */
  stepSave: number;
  /** Bank rows that take part in the stabilising max (the original's chunk b). */
  chunk: number;
  eps: number;
  /** Box coordinates are divided by this to index the pooled map (8: the HRDA-variant quirk). */
  indexScale: number;
}

export const PATCH_CONTRAST_CODE_EXACT: PatchContrastOptions = {
  temperature: 0.1,
  threshold: 0.9,
  weight: 0.01,
  selectedNum: 1600,
  stepSave: 2,
  chunk: 8000,
  eps: 1e-8,
  indexScale: 8,
};

export class PatchContrastError extends Error {
  override name = 'PatchContrastError';
}

/** Declares project.{0,2}.{weight,bias} and classifier.{weight,bias} (PyTorch default conv init). */
export function declarePatchHeads(scope: ParamScope, numClasses = 19, projDim = 128): void {
  const bound = { kind: 'uniform', bound: 1 / Math.sqrt(numClasses) } as const;
  scope.param('project.0.weight', [numClasses, numClasses, 1, 1], 'conv', bound);
  scope.param('project.0.bias', [numClasses], 'vector', bound);
  scope.param('project.2.weight', [projDim, numClasses, 1, 1], 'conv', bound);
  scope.param('project.2.bias', [projDim], 'vector', bound);
  scope.param('classifier.weight', [numClasses, numClasses, 1, 1], 'conv', bound);
  scope.param('classifier.bias', [numClasses], 'vector', bound);
}

/** F.avg_pool2d(kernel 2, stride 2) on NHWC logits. */
export function poolPatchLogits(logits: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(logits, 2, 2, 'valid');
}

/** normalize(project(E)): 1x1 conv → ReLU → 1x1 conv → L2 over channels. */
export function projectPatch(params: ParamSource, pooled: tf.Tensor4D, prefix = ''): tf.Tensor4D {
  return tf.tidy(() => {
    const p = (n: string) => params.get(prefix + n);
    const hidden = tf.relu(conv2d(pooled, p('project.0.weight'), p('project.0.bias')));
    return l2NormalizeChannels(conv2d(hidden, p('project.2.weight'), p('project.2.bias')));
  });
}

export interface PatchPseudoLabels {
  /** softmax max over classes, [B·h·w] row-major. */
  conf: Float32Array;
  /** argmax over classes, [B·h·w]. */
  label: Int32Array;
}

/** The frozen classifier's confidence and label (detached by construction: plain arrays). */
export function classifyPatch(params: ParamSource, pooled: tf.Tensor4D, prefix = ''): PatchPseudoLabels {
  return tf.tidy(() => {
    const logits = conv2d(pooled, params.get(prefix + 'classifier.weight'), params.get(prefix + 'classifier.bias'));
    const conf = tf.max(tf.softmax(logits), -1).dataSync() as Float32Array;
    const label = tf.argMax(logits, -1).dataSync() as Int32Array;
    return { conf: Float32Array.from(conf), label: Int32Array.from(label) };
  });
}

/** Overlap boxes (y, x) per batch element in each view's crop frame, and the flips. */
export interface PatchBoxes {
  ul1: ReadonlyArray<readonly [number, number]>;
  br1: ReadonlyArray<readonly [number, number]>;
  ul2: ReadonlyArray<readonly [number, number]>;
  br2: ReadonlyArray<readonly [number, number]>;
  flip1: readonly boolean[];
  flip2: readonly boolean[];
}

/**
 * Rows of the flattened [B·h·w] map that form one view's overlap: per batch element, flip
 * the map back if the view was flipped, take rows [ul.y/s, br.y/s) and columns
 * [ul.x/s, br.x/s) (clamped like a PyTorch slice), row-major, batch after batch.
 */
export function overlapRows(
  ul: PatchBoxes['ul1'],
  br: PatchBoxes['br1'],
  flip: readonly boolean[],
  mapH: number,
  mapW: number,
  indexScale: number,
): Int32Array {
  const rows: number[] = [];
  const clamp = (v: number, size: number) => Math.max(0, Math.min(size, v));
  for (let b = 0; b < ul.length; b++) {
    const y0 = clamp(Math.floor(ul[b][0] / indexScale), mapH);
    const y1 = clamp(Math.floor(br[b][0] / indexScale), mapH);
    const x0 = clamp(Math.floor(ul[b][1] / indexScale), mapW);
    const x1 = clamp(Math.floor(br[b][1] / indexScale), mapW);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) rows.push((b * mapH + y) * mapW + (flip[b] ? mapW - 1 - x : x));
    }
  }
  return Int32Array.from(rows);
}

/** Bank rows of each view: selected_idx1/2 over the flattened (b, h, w) map. */
export interface BankSelection {
  idx1: Int32Array;
  idx2: Int32Array;
}

/** np.random.choice(B·h·w, selectedNum, replace=False) for both views (clamped to the map size). */
export function drawBankSelection(rng: Rng, mapRows: number, selectedNum: number): BankSelection {
  const k = Math.min(selectedNum, mapRows);
  return { idx1: Int32Array.from(rng.choice(mapRows, k)), idx2: Int32Array.from(rng.choice(mapRows, k)) };
}

function pick<T extends Float32Array | Int32Array>(src: T, idx: Int32Array): T {
  const out = new (src.constructor as new (n: number) => T)(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
  return out;
}

/** Everything the loss needs that carries no gradient; owns pooled maps and the negatives. */
export interface PatchContrastStep {
  pooled1: tf.Tensor4D;
  pooled2: tf.Tensor4D;
  pseudo1: PatchPseudoLabels;
  pseudo2: PatchPseudoLabels;
  overlap1: Int32Array;
  overlap2: Int32Array;
  /** Bank contents after this step's push, oldest first. */
  negatives: NegativeKeys;
  dispose(): void;
}

/**
 * Phase 1 (outside the gradient closure). `fused1/2`: teacher logits of the two views,
 * NHWC [B,H,W,C]. Pushes this step's detached rows into `bank`.
 */
export function preparePatchContrast(
  params: ParamSource,
  fused1: tf.Tensor4D,
  fused2: tf.Tensor4D,
  boxes: PatchBoxes,
  selection: BankSelection,
  bank: FeatureBank,
  o: PatchContrastOptions = PATCH_CONTRAST_CODE_EXACT,
): PatchContrastStep {
  if (!tf.util.arraysEqual(fused1.shape, fused2.shape)) {
    throw new PatchContrastError(`the two views differ in shape: [${fused1.shape}] vs [${fused2.shape}]`);
  }
  const B = fused1.shape[0];
  for (const [k, v] of Object.entries(boxes)) {
    if ((v as unknown[]).length !== B) throw new PatchContrastError(`boxes.${k} has ${(v as unknown[]).length} entries for a batch of ${B}`);
  }
  // avg_pool2d(2) floors odd sizes; the overlap rows are checked before any tensor is made
  const [h, w] = [Math.floor(fused1.shape[1] / 2), Math.floor(fused1.shape[2] / 2)];
  const overlap1 = overlapRows(boxes.ul1, boxes.br1, boxes.flip1, h, w, o.indexScale);
  const overlap2 = overlapRows(boxes.ul2, boxes.br2, boxes.flip2, h, w, o.indexScale);
  if (overlap1.length !== overlap2.length) {
    throw new PatchContrastError(`overlap of view 1 has ${overlap1.length} cells but view 2 has ${overlap2.length}; check the boxes`);
  }
  for (const idx of [selection.idx1, selection.idx2]) {
    if (idx.some((i) => !(i >= 0 && i < B * h * w))) throw new PatchContrastError(`bank selection has rows outside [0, ${B * h * w})`);
  }
  const pooled1 = tf.keep(poolPatchLogits(fused1));
  const pooled2 = tf.keep(poolPatchLogits(fused2));
  const pseudo1 = classifyPatch(params, pooled1);
  const pseudo2 = classifyPatch(params, pooled2);
  tf.tidy(() => {
    const flat = (z: tf.Tensor4D) => tf.reshape(z, [B * h * w, -1]) as tf.Tensor2D;
    const rows = tf.concat([
      gatherRows(flat(projectPatch(params, pooled1)), selection.idx1),
      gatherRows(flat(projectPatch(params, pooled2)), selection.idx2),
    ]) as tf.Tensor2D;
    const labels = new Int32Array(selection.idx1.length + selection.idx2.length);
    labels.set(pick(pseudo1.label, selection.idx1));
    labels.set(pick(pseudo2.label, selection.idx2), selection.idx1.length);
    bank.push(rows, labels);
  });
  const negatives = bank.snapshot();
  tf.keep(negatives.features);
  return {
    pooled1,
    pooled2,
    pseudo1,
    pseudo2,
    overlap1,
    overlap2,
    negatives,
    dispose: () => tf.dispose([pooled1, pooled2, negatives.features]),
  };
}

export interface PatchContrastViews {
  view1: DirectionalViewResult;
  view2: DirectionalViewResult;
}

/** Phase 2 with every intermediate (for parity checks). Differentiable into `project` only. */
export function patchContrastViews(params: ParamSource, s: PatchContrastStep, o: PatchContrastOptions = PATCH_CONTRAST_CODE_EXACT): PatchContrastViews {
  const opts = { ...CAC_DIRECTIONAL, temperature: o.temperature, threshold: o.threshold, maxWindow: o.chunk, eps: o.eps };
  return tf.tidy(() => {
    const rowsOf = (pooled: tf.Tensor4D, idx: Int32Array) => {
      const z = projectPatch(params, pooled);
      return gatherRows(tf.reshape(z, [-1, z.shape[3]]) as tf.Tensor2D, idx);
    };
    const f1 = rowsOf(s.pooled1, s.overlap1);
    const f2 = rowsOf(s.pooled2, s.overlap2);
    const lab1 = pick(s.pseudo1.label, s.overlap1);
    const lab2 = pick(s.pseudo2.label, s.overlap2);
    const conf1 = pick(s.pseudo1.conf, s.overlap1);
    const conf2 = pick(s.pseudo2.conf, s.overlap2);
    const view1 = directionalContrastView(
      { anchors: f1, partner: f2, anchorLabels: lab1, confSelf: conf1, confOther: conf2, negatives: s.negatives },
      opts,
    );
    const view2 = directionalContrastView(
      { anchors: f2, partner: f1, anchorLabels: lab2, confSelf: conf2, confOther: conf1, negatives: s.negatives },
      opts,
    );
    return { view1, view2 } as any;
  }) as PatchContrastViews;
}

export interface PatchContrastLosses {
  /** weight · (L1 + L2). */
  loss: tf.Scalar;
  loss1: tf.Scalar;
  loss2: tf.Scalar;
}

/** Phase 2 (inside the gradient closure). */
export function patchContrastLoss(params: ParamSource, s: PatchContrastStep, o: PatchContrastOptions = PATCH_CONTRAST_CODE_EXACT): PatchContrastLosses {
  return tf.tidy(() => {
    const { view1, view2 } = patchContrastViews(params, s, o);
    const loss = tf.mul(o.weight, tf.add(view1.loss, view2.loss)) as tf.Scalar;
    return { loss, loss1: view1.loss, loss2: view2.loss };
  });
}
