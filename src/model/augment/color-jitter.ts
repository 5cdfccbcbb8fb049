// DACS colour jitter = kornia 0.5.8 ColorJitter(brightness=s, contrast=s, saturation=s,
// hue=s), p = 1, on an mmseg-normalised NHWC image (SPEC §1.7). kornia 0.5 semantics:
//   brightness  x ← clamp(x + (b − 1), 0, 1)     ADDITIVE
//   contrast    x ← clamp(x·c, 0, 1)             MULTIPLICATIVE, no mean blending
//   saturation  S ← clamp(S·s, 0, 1) in HSV
//   hue         H ← fmod(H + 2π·h, 2π) in HSV    (C fmod: may stay negative; hsv→rgb wraps)
// applied in a random order (a permutation of [0 brightness, 1 contrast, 2 saturation, 3 hue]).
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';
import { AugmentParamsError } from './errors.js';
import { hsvToRgb, rgbToHsv } from './hsv.js';

export interface ColorJitterParams {
  /** b ~ U(1−s, 1+s) (clamped to [0, 2]); the op adds b − 1. */
  brightness: number;
  /** c ~ U(1−s, 1+s) (lower bound clamped at 0). */
  contrast: number;
  /** ~ U(1−s, 1+s) (lower bound clamped at 0). */
  saturation: number;
  /** h ~ U(−s, s) (clamped to [−0.5, 0.5]), in turns; the op shifts H by 2π·h. */
  hue: number;
  /** Order of the ops: a permutation of 0..3 (0 brightness, 1 contrast, 2 saturation, 3 hue). */
  order: number[];
}

/** kornia draws its factors as float32; rounding here keeps a replay bit-identical. */
const f32 = Math.fround;
const F32_PI = f32(Math.PI);
const F32_TWO_PI = f32(2 * F32_PI);

/** Draw one image's jitter parameters: four uniforms (b, c, s, h), then the order. */
export function drawColorJitterParams(rng: Rng, strength = 0.2): ColorJitterParams {
  if (!(strength >= 0)) throw new AugmentParamsError(`colour jitter strength must be >= 0, got ${strength}`);
  const lo = Math.max(0, 1 - strength);
  const hueBound = Math.min(strength, 0.5);
  return {
    brightness: f32(rng.uniform(lo, Math.min(2, 1 + strength))),
    contrast: f32(rng.uniform(lo, 1 + strength)),
    saturation: f32(rng.uniform(lo, 1 + strength)),
    hue: f32(rng.uniform(-hueBound, hueBound)),
    order: rng.permutation(4),
  };
}

export function validateColorJitterParams(p: ColorJitterParams): void {
  const sorted = [...p.order].sort();
  if (p.order.length !== 4 || sorted.some((v, i) => v !== i)) {
    throw new AugmentParamsError(`colour jitter order must be a permutation of 0..3, got [${p.order}]`);
  }
  for (const k of ['brightness', 'contrast', 'saturation', 'hue'] as const) {
    if (!Number.isFinite(p[k])) throw new AugmentParamsError(`colour jitter ${k} must be finite, got ${p[k]}`);
  }
}

/** Brightness, additive: clamp(x + (b − 1)). */
export function adjustBrightness(x: tf.Tensor, b: number): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.add(x, f32(b) - 1), 0, 1));
}

/** Contrast, multiplicative: clamp(x·c). */
export function adjustContrast(x: tf.Tensor, c: number): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.mul(x, c), 0, 1));
}

/** Saturation: S ← clamp(S·s, 0, 1) in HSV. */
export function adjustSaturation(x: tf.Tensor, s: number): tf.Tensor {
  return tf.tidy(() => {
    const [h, sat, v] = tf.split(rgbToHsv(x), 3, -1);
    return hsvToRgb(tf.concat([h, tf.clipByValue(tf.mul(sat, s), 0, 1), v], -1));
  });
}

/** Hue: H ← fmod(H + shift, 2π), shift in radians (kornia passes 2π·h). */
export function adjustHue(x: tf.Tensor, shiftRad: number): tf.Tensor {
  return tf.tidy(() => {
    const [h, s, v] = tf.split(rgbToHsv(x), 3, -1);
    const shifted = tf.add(h, shiftRad);
    // C fmod (sign of the dividend), not floor-mod: kornia uses torch.fmod.
    const wrapped = tf.mul(tf.sign(shifted), tf.mod(tf.abs(shifted), F32_TWO_PI));
    return hsvToRgb(tf.concat([wrapped, s, v], -1));
  });
}

/** kornia computes hue_factor·2·π in float32 with its float32 π. */
export function hueShiftRadians(hueTurns: number): number {
  return f32(f32(f32(hueTurns) * 2) * F32_PI);
}

/** Jitter an RGB image in [0, 1] (channels last). */
export function colorJitter01(x: tf.Tensor, p: ColorJitterParams): tf.Tensor {
  validateColorJitterParams(p);
  const ops = [
    (t: tf.Tensor) => adjustBrightness(t, p.brightness),
    (t: tf.Tensor) => adjustContrast(t, p.contrast),
    (t: tf.Tensor) => adjustSaturation(t, p.saturation),
    (t: tf.Tensor) => adjustHue(t, hueShiftRadians(p.hue)),
  ];
  return tf.tidy(() => p.order.reduce((t, k) => ops[k](t), x));
}

/** mmseg-normalised image → [0, 1] RGB: (img·std + mean)/255 (DACS denorm_). */
export function denormalize01(img: tf.Tensor, mean: readonly number[], std: readonly number[]): tf.Tensor {
  return tf.tidy(() => tf.div(tf.add(tf.mul(img, tf.tensor1d(std as number[])), tf.tensor1d(mean as number[])), 255));
}

/** [0, 1] RGB → mmseg-normalised: (x·255 − mean)/std (DACS renorm_). */
export function renormalize(x01: tf.Tensor, mean: readonly number[], std: readonly number[]): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(tf.mul(x01, 255), tf.tensor1d(mean as number[])), tf.tensor1d(std as number[])));
}

/** The DACS colour jitter on a normalised NHWC image: denormalise, jitter, renormalise. */
export function colorJitterNormalized(
  img: tf.Tensor,
  p: ColorJitterParams,
  mean: readonly number[],
  std: readonly number[],
): tf.Tensor {
  if (mean.length !== 3 || std.length !== 3) {
    throw new AugmentParamsError(`colour jitter needs 3-channel mean/std, got mean [${mean}] std [${std}]`);
  }
  return tf.tidy(() => renormalize(colorJitter01(denormalize01(img, mean, std), p), mean, std));
}
