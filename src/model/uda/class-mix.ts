// ClassMix (DACS get_class_masks / generate_class_mask / one_mix). Per source image i, half
// of the classes present in the WHOLE source batch (sorted unique, 255 included when present)
// are chosen, and the mixed sample takes the source pixel wherever the source label is one
// of them, the target pixel elsewhere:
//   x_mix = M·x_s + (1−M)·x_t,  y_mix = M·y_s + (1−M)·ŷ_t,  w_mix = M·1 + (1−M)·w_t.
// Labels are int32 [B,H,W]; images NHWC; masks int32 [B,H,W] of 0/1.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';
import { classMembershipMask } from '../losses/label-downscale.js';

export class ClassMixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassMixError';
  }
}

/**
 * Picks `k` distinct indices of 0..n−1 for image `image` (numpy choice(n, k, replace=False)).
 * Injectable so a replay can feed the original's recorded draws.
 */
export type ClassChooser = (n: number, k: number, image: number) => readonly number[];

/** The product's chooser: draws from a seeded Rng (derive it with rngFor(seed, …, 'classmix')). */
export function rngChooser(rng: Rng): ClassChooser {
  return (n, k) => rng.choice(n, k);
}

/** Sorted unique values of the whole label batch (torch.unique). */
export function uniqueLabels(labels: Int32Array): number[] {
  return [...new Set(labels)].sort((a, b) => a - b);
}

/** (n + n mod 2) / 2: how many of n classes each image takes from the source. */
export function classesToMix(n: number): number {
  return (n + (n % 2)) / 2;
}

export interface ClassMasks {
  /** Sorted unique labels of the whole batch. */
  classes: number[];
  /** Per image, the chosen class values. */
  chosen: number[][];
  /** int32 [B,H,W], 1 = take the source pixel. */
  masks: tf.Tensor3D;
}

/** get_class_masks over labels int32 [B,H,W]. The caller owns `masks`. */
export function classMixMasks(labels: tf.Tensor3D, chooser: ClassChooser): ClassMasks {
  if (labels.dtype !== 'int32') throw new ClassMixError(`labels must be int32 [B,H,W], got ${labels.dtype} [${labels.shape}]`);
  const [b, h, w] = labels.shape;
  const data = labels.dataSync() as Int32Array;
  const classes = uniqueLabels(data);
  const k = classesToMix(classes.length);
  const chosen: number[][] = [];
  const out = new Int32Array(b * h * w);
  for (let i = 0; i < b; i++) {
    const idx = chooser(classes.length, k, i);
    if (idx.length !== k || new Set(idx).size !== k || idx.some((j) => !Number.isInteger(j) || j < 0 || j >= classes.length)) {
      throw new ClassMixError(`chooser for image ${i} must return ${k} distinct indices in 0..${classes.length - 1}, got [${idx.join(', ')}]`);
    }
    const pick = idx.map((j) => classes[j]);
    chosen.push(pick);
    const image = data.subarray(i * h * w, (i + 1) * h * w);
    out.set(classMembershipMask(image, pick), i * h * w);
  }
  return { classes, chosen, masks: tf.tensor3d(out, [b, h, w], 'int32') };
}

/**
 * one_mix: mask·a + (1−mask)·b, with mask [B,H,W] broadcast over any trailing channel axis of
 * a/b ([B,H,W] or [B,H,W,C]). For a 0/1 mask this selection is exactly the original's blend.
 */
export function oneMix<T extends tf.Tensor>(mask: tf.Tensor3D, a: T, b: T): T {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new ClassMixError(`one_mix operands differ in shape: [${a.shape}] vs [${b.shape}]`);
  if (!tf.util.arraysEqual(a.shape.slice(0, 3), mask.shape)) {
    throw new ClassMixError(`mask [${mask.shape}] does not match the leading B,H,W of [${a.shape}]`);
  }
  return tf.tidy(() => {
    let m = tf.cast(mask, 'bool');
    if (a.rank === 4) m = tf.expandDims(m, -1);
    return tf.where(m, a, b) as T;
  });
}

export interface MixedBatch {
  /** NHWC float32. */
  img: tf.Tensor4D;
  /** int32 [B,H,W]. */
  label: tf.Tensor3D;
  /** float32 [B,H,W]: 1 on source pixels, the pseudo weight on target pixels. */
  weight: tf.Tensor3D;
}

/** Mixes a source and a target batch with per-image class masks (before colour jitter/blur). */
export function classMix(
  masks: tf.Tensor3D,
  src: { img: tf.Tensor4D; label: tf.Tensor3D },
  tgt: { img: tf.Tensor4D; pseudoLabel: tf.Tensor3D; pseudoWeight: tf.Tensor3D },
): MixedBatch {
  return tf.tidy(() => ({
    img: oneMix(masks, src.img, tgt.img),
    label: oneMix(masks, src.label, tgt.pseudoLabel),
    weight: oneMix(masks, tf.onesLike(tgt.pseudoWeight), tgt.pseudoWeight),
  }));
}
