// PiPa's pixel-wise contrastive loss (SPEC §1.6), the differentiable half: gather the
// sampled anchors from the embedding and apply the supervised-contrastive loss with a
// negatives-only denominator. Sampling (anchor-sampling.ts) is pure JS and happens
// before; everything here is synchronous TF ops, safe inside tf.variableGrads.
import * as tf from '@tensorflow/tfjs';
import { stopGradient } from '../layers/stop-gradient.js';
import { gatherRows } from './gather-rows.js';
import {
  CODE_EXACT_SAMPLING,
  ContrastInputError,
  FIXED_SAMPLING,
  prepareContrastLabels,
  sampleAnchors,
  type AnchorSample,
  type AnchorSamplingOptions,
  type ContrastLabelMode,
  type LabelCropBox,
  type PermutationSource,
} from './anchor-sampling.js';

export interface PixelContrastOptions {
  /** τ (0.1). */
  temperature: number;
  /** τ_base (0.07); the loss is scaled by τ/τ_base. */
  baseTemperature: number;
}

export const PIXEL_CONTRAST_DEFAULTS: PixelContrastOptions = { temperature: 0.1, baseTemperature: 0.07 };

/** Features of the sampled anchors: embedding [B,h,w,D] → [K, nView, D]. */
export function gatherAnchorFeatures(embedding: tf.Tensor4D, s: AnchorSample): tf.Tensor3D {
  const [B, h, w, D] = embedding.shape;
  const K = s.numAnchors;
  const V = s.viewsPerAnchor;
  const rows = new Int32Array(K * V);
  for (let k = 0; k < K; k++) {
    const img = s.imageOfAnchor[k];
    if (img < 0 || img >= B) throw new ContrastInputError(`anchor ${k} refers to image ${img} but the batch has ${B}`);
    for (let v = 0; v < V; v++) rows[k * V + v] = img * h * w + s.flatIndex[k * V + v];
  }
  return tf.tidy(() => {
    const flat = tf.reshape(embedding, [B * h * w, D]) as tf.Tensor2D;
    return tf.reshape(gatherRows(flat, rows), [K, V, D]) as tf.Tensor3D;
  });
}

/**
 * The loss on sampled anchors (PixelContrastLoss._contrastive). feats [K, nView, D]
 * (L2-normalised), classOfAnchor[k]. Anchors are taken view-major (row v·K + k).
 */
export function pixelContrastCore(
  feats: tf.Tensor3D,
  classOfAnchor: ArrayLike<number>,
  o: PixelContrastOptions = PIXEL_CONTRAST_DEFAULTS,
): tf.Scalar {
  const [K, V, D] = feats.shape;
  if (classOfAnchor.length !== K) {
    throw new ContrastInputError(`${classOfAnchor.length} anchor classes for ${K} anchors`);
  }
  if (K === 0 || V === 0) return tf.scalar(0);
  const A = K * V;
  // Class of every row in view-major order, and the same-class / self masks, in JS.
  const sameClass = new Float32Array(A * A);
  const positive = new Float32Array(A * A);
  for (let a = 0; a < A; a++) {
    const ca = classOfAnchor[a % K];
    for (let b = 0; b < A; b++) {
      const same = classOfAnchor[b % K] === ca ? 1 : 0;
      sameClass[a * A + b] = same;
      positive[a * A + b] = a === b ? 0 : same;
    }
  }
  return tf.tidy(() => {
    const f = tf.reshape(tf.transpose(feats, [1, 0, 2]), [A, D]);
    const sim = tf.div(tf.matMul(f, f, false, true), o.temperature);
    // Row max for stability; detached exactly like the original (it cancels analytically).
    const logits = tf.sub(sim, stopGradient(tf.max(sim, 1, true)));
    const negMask = tf.sub(1, tf.tensor2d(sameClass, [A, A]));
    const posMask = tf.tensor2d(positive, [A, A]);
    const expLogits = tf.exp(logits);
    const negSum = tf.sum(tf.mul(expLogits, negMask), 1, true);
    const logProb = tf.sub(logits, tf.log(tf.add(expLogits, negSum)));
    const meanLogProbPos = tf.div(tf.sum(tf.mul(posMask, logProb), 1), tf.sum(posMask, 1));
    return tf.mean(tf.mul(-(o.temperature / o.baseTemperature), meanLogProbPos)) as tf.Scalar;
  });
}

/**
 * Loss for an already drawn sample. K = 0 (no class qualifies; the original crashes) gives
 * 0, still connected to the embedding so a gradient call on it alone yields zeros, not an error.
 */
export function pixelContrastLoss(
  embedding: tf.Tensor4D,
  sample: AnchorSample,
  o: PixelContrastOptions = PIXEL_CONTRAST_DEFAULTS,
): tf.Scalar {
  if (sample.numAnchors === 0 || sample.viewsPerAnchor === 0) return tf.tidy(() => tf.mul(tf.sum(embedding), 0) as tf.Scalar);
  return tf.tidy(() => pixelContrastCore(gatherAnchorFeatures(embedding, sample), sample.classOfAnchor, o));
}

/**
 * The two product modes. 'code-exact': full label map resized, 255 is a class. 'fixed':
 * labels cropped to the detail crop box first (so they align with the embedding) and
 * 255 is not a class.
 */
export function pixelContrastMode(
  mode: 'code-exact' | 'fixed',
  detailBox?: LabelCropBox,
): { labelMode: ContrastLabelMode; sampling: AnchorSamplingOptions } {
  if (mode === 'code-exact') return { labelMode: { kind: 'code-exact' }, sampling: CODE_EXACT_SAMPLING };
  if (!detailBox) throw new ContrastInputError("pixel contrast mode 'fixed' needs the detail crop box");
  return { labelMode: { kind: 'detail-crop', box: detailBox }, sampling: FIXED_SAMPLING };
}

export interface PixelContrastInputs {
  /** [B,h,w,D], L2-normalised projection of the detail-crop features. */
  embedding: tf.Tensor4D;
  /** [B,H,W] full-resolution labels. */
  labels: Int32Array;
  labelShape: readonly [number, number, number];
  /** [B,h,w] argmax of the auxiliary cls_head. */
  predict: Int32Array;
  labelMode?: ContrastLabelMode;
  sampling?: AnchorSamplingOptions;
  perms: PermutationSource;
  loss?: PixelContrastOptions;
}

/** Prepare labels, draw the sample, compute the loss (what HRDAHead does in stage 1). */
export function pixelContrast(i: PixelContrastInputs): { loss: tf.Scalar; sample: AnchorSample } {
  const [B, h, w] = i.embedding.shape;
  if (i.labelShape[0] !== B) throw new ContrastInputError(`labels have batch ${i.labelShape[0]}, embedding ${B}`);
  const labels = prepareContrastLabels(i.labels, i.labelShape, [h, w], i.labelMode);
  const sample = sampleAnchors(labels, i.predict, B, h * w, i.perms, i.sampling ?? CODE_EXACT_SAMPLING);
  return { loss: pixelContrastLoss(i.embedding, sample, i.loss), sample };
}
