// Patch-wise contrast as the paper's figure describes it (SPEC §1.8 last paragraph, §7.1):
// two overlapping crops of the current target images go through the STUDENT (its
// decoder features or logits through a trainable projection — the caller's feature
// function), the overlap is aligned at the true feature stride, and teacher pseudo-labels
// decide which pixels are negatives and which view learns. Unlike the code-exact
// version, the gradient reaches the segmentation network.
//
// Frames: f1/f2 and the teacher maps are in the frame the crop was fed to the networks
// (mirrored when its flip flag is set); the overlap geometry is in the unflipped frame.
// Run the teacher on each crop separately: with one full-image teacher prediction cropped
// twice, conf1 = conf2 on the overlap and the directional mask is always empty.
// Exact flip alignment needs crop width = feature width × stride.
import * as tf from '@tensorflow/tfjs';
import { l2NormalizeChannels } from '../heads/pipa-heads.js';
import { stopGradient } from '../layers/stop-gradient.js';
import type { NegativeKeys } from './contrast-negatives.js';
import { directionalContrastView, type DirectionalViewResult } from './directional-contrast.js';
import { gatherRows } from './gather-rows.js';
import { featureOverlap, type PatchPair } from './patch-pairs.js';

export interface PatchContrastIntentInput {
  /** Student embeddings of crop 1 / crop 2, NHWC [B,h,w,D]. */
  f1: tf.Tensor4D;
  f2: tf.Tensor4D;
  /** Teacher pseudo-labels and confidences at feature resolution, [B·h·w] row-major. */
  teacherLabel1: Int32Array;
  teacherLabel2: Int32Array;
  teacherConf1: Float32Array;
  teacherConf2: Float32Array;
  /** Geometry of each batch element's pair. */
  pairs: readonly PatchPair[];
  /** τ (0.1). */
  temperature?: number;
  /** Confidence the teaching view must exceed (0.9). */
  threshold?: number;
  /** Extra detached negatives (e.g. a FeatureBank snapshot of earlier steps). */
  bank?: NegativeKeys;
  /** Rows of the in-batch negative pool [view-1 B·h·w ; view-2 B·h·w] to use (default: all). */
  negativeSelection?: Int32Array;
  /** L2-normalise f1/f2 over channels first (default true). */
  normalize?: boolean;
}

export class PatchIntentError extends Error {
  override name = 'PatchIntentError';
}

/** Rows of the flattened as-fed map holding overlap cells, batch after batch, row-major in the unflipped frame. */
function overlapRowsOf(pairs: readonly PatchPair[], view: 1 | 2, h: number, w: number): Int32Array {
  const rows: number[] = [];
  pairs.forEach((p, b) => {
    const o = featureOverlap(p, h, w);
    const [y0, x0, flip] = view === 1 ? [o.y1, o.x1, p.flip1] : [o.y2, o.x2, p.flip2];
    for (let y = y0; y < y0 + o.h; y++) {
      for (let x = x0; x < x0 + o.w; x++) rows.push((b * h + y) * w + (flip ? w - 1 - x : x));
    }
  });
  return Int32Array.from(rows);
}

function pick<T extends Int32Array | Float32Array>(src: T, idx: Int32Array): T {
  const out = new (src.constructor as new (n: number) => T)(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
  return out;
}

/**
 * Detached negatives from both views (all pixels, or `selection` of the pooled rows)
 * with their teacher labels; also what a caller pushes into a FeatureBank.
 */
export function patchNegatives(
  f1: tf.Tensor4D,
  f2: tf.Tensor4D,
  label1: Int32Array,
  label2: Int32Array,
  selection?: Int32Array,
): NegativeKeys {
  const labels = new Int32Array(label1.length + label2.length);
  labels.set(label1);
  labels.set(label2, label1.length);
  const features = tf.tidy(() => {
    const pool = stopGradient(tf.concat([tf.reshape(f1, [-1, f1.shape[3]]), tf.reshape(f2, [-1, f2.shape[3]])]) as tf.Tensor2D);
    return selection ? tf.gather(pool, tf.tensor1d(selection, 'int32')) : pool;
  });
  return { features, labels: selection ? pick(labels, selection) : labels };
}

/** Both directional views with their intermediates (pos, shift, denominator, direction). */
export function patchContrastIntentViews(i: PatchContrastIntentInput): { view1: DirectionalViewResult; view2: DirectionalViewResult } {
  const [B, h, w, D] = i.f1.shape;
  if (!tf.util.arraysEqual(i.f1.shape, i.f2.shape)) throw new PatchIntentError(`f1 [${i.f1.shape}] and f2 [${i.f2.shape}] differ`);
  if (i.pairs.length !== B) throw new PatchIntentError(`${i.pairs.length} pair geometries for a batch of ${B}`);
  for (const a of [i.teacherLabel1, i.teacherLabel2, i.teacherConf1, i.teacherConf2]) {
    if (a.length !== B * h * w) throw new PatchIntentError(`teacher maps need ${B}x${h}x${w} = ${B * h * w} values, got ${a.length}`);
  }
  const rows1 = overlapRowsOf(i.pairs, 1, h, w);
  const rows2 = overlapRowsOf(i.pairs, 2, h, w);
  const opts = { temperature: i.temperature ?? 0.1, threshold: i.threshold ?? 0.9, maxWindow: Infinity, eps: 1e-8 };
  return tf.tidy(() => {
    const norm = (f: tf.Tensor4D) => (i.normalize === false ? f : l2NormalizeChannels(f));
    const z1 = norm(i.f1);
    const z2 = norm(i.f2);
    const own = patchNegatives(z1, z2, i.teacherLabel1, i.teacherLabel2, i.negativeSelection);
    const negatives: NegativeKeys = i.bank
      ? {
          features: tf.concat([own.features, i.bank.features]) as tf.Tensor2D,
          labels: Int32Array.from([...own.labels, ...i.bank.labels]),
        }
      : own;
    const a1 = gatherRows(tf.reshape(z1, [B * h * w, D]) as tf.Tensor2D, rows1);
    const a2 = gatherRows(tf.reshape(z2, [B * h * w, D]) as tf.Tensor2D, rows2);
    const [lab1, lab2] = [pick(i.teacherLabel1, rows1), pick(i.teacherLabel2, rows2)];
    const [conf1, conf2] = [pick(i.teacherConf1, rows1), pick(i.teacherConf2, rows2)];
    const view1 = directionalContrastView({ anchors: a1, partner: a2, anchorLabels: lab1, confSelf: conf1, confOther: conf2, negatives }, opts);
    const view2 = directionalContrastView({ anchors: a2, partner: a1, anchorLabels: lab2, confSelf: conf2, confOther: conf1, negatives }, opts);
    return { view1, view2 } as any;
  }) as { view1: DirectionalViewResult; view2: DirectionalViewResult };
}

/** L = L_1 + L_2 (the caller applies its loss weight). Differentiable w.r.t. f1 and f2. */
export function patchContrastIntent(i: PatchContrastIntentInput): tf.Scalar {
  return tf.tidy(() => {
    const { view1, view2 } = patchContrastIntentViews(i);
    return tf.add(view1.loss, view2.loss) as tf.Scalar;
  });
}
