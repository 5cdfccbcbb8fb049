// DACS colour jitter = kornia 0.5.8 ColorJitter(brightness=s, contrast=s, saturation=s,
// hue=s), p = 1, on an mmseg-normalised NHWC image (SPEC §1.7). kornia 0.5 semantics:
//   brightness  x ← clamp(x + (b − 1), 0, 1)     ADDITIVE
//   contrast    x ← clamp(x·c, 0, 1)             MULTIPLICATIVE, no mean blending
//   saturation  S ← clamp(S·s, 0, 1) in HSV
//   hue         H ← fmod(H + 2π·h, 2π) in HSV    (C fmod: may stay negative; hsv→rgb wraps)
// applied in a random order (a permutation of [0 brightness, 1 contrast, 2 saturation, 3 hue]).
// All four ops are per pixel, so each pixel goes through the ops in order in one pass;
// arithmetic is float32 (Math.fround after every operation), like the tensor ops.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';
import { AugmentParamsError } from './errors.js';
import { F32_TWO_PI, hsvToRgbPixel, rgbToHsvPixel } from './hsv.js';

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

/** kornia computes hue_factor·2·π in float32 with its float32 π. */
export function hueShiftRadians(hueTurns: number): number {
  return f32(f32(f32(hueTurns) * 2) * F32_PI);
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** C fmod (sign of the dividend), exact for float32 values, as torch.fmod. */
const fmod = (a: number, b: number): number => a % b;

/** The op constants in float32, as kornia feeds them to the tensor ops. */
interface OpConstants {
  add: number; // b − 1
  mul: number; // c
  sat: number; // s
  hueRad: number; // 2π·h
}

function opConstants(p: ColorJitterParams): OpConstants {
  return { add: f32(f32(p.brightness) - 1), mul: f32(p.contrast), sat: f32(p.saturation), hueRad: hueShiftRadians(p.hue) };
}

/** Runs the ops listed in `ops` (any sequence of 0..3) on every pixel, in place. */
function applyOps(px: Float32Array, k: OpConstants, ops: readonly number[]): void {
  if (px.length % 3 !== 0) throw new AugmentParamsError(`colour jitter: ${px.length} values are not RGB triples`);
  const t = new Float64Array(3);
  for (let i = 0; i < px.length; i += 3) {
    t[0] = px[i];
    t[1] = px[i + 1];
    t[2] = px[i + 2];
    for (let k2 = 0; k2 < ops.length; k2++) {
      switch (ops[k2]) {
        case 0:
          for (let c = 0; c < 3; c++) t[c] = clamp01(f32(t[c] + k.add));
          break;
        case 1:
          for (let c = 0; c < 3; c++) t[c] = clamp01(f32(t[c] * k.mul));
          break;
        case 2:
          rgbToHsvPixel(t[0], t[1], t[2], t);
          hsvToRgbPixel(t[0], clamp01(f32(t[1] * k.sat)), t[2], t);
          break;
        default:
          rgbToHsvPixel(t[0], t[1], t[2], t);
          hsvToRgbPixel(fmod(f32(t[0] + k.hueRad), F32_TWO_PI), t[1], t[2], t);
          break;
      }
    }
    px[i] = t[0];
    px[i + 1] = t[1];
    px[i + 2] = t[2];
  }
}

/** Jitter interleaved RGB pixels in [0, 1] in place. */
export function colorJitterPixels01(px: Float32Array, p: ColorJitterParams): void {
  validateColorJitterParams(p);
  applyOps(px, opConstants(p), p.order);
}

/** mmseg-normalised → [0, 1] in place: (img·std + mean)/255 (DACS denorm_, float32). */
export function denormalizePixels01(px: Float32Array, mean: readonly number[], std: readonly number[]): void {
  const [m, s] = [mean.map(f32), std.map(f32)];
  for (let i = 0; i < px.length; i++) px[i] = f32(f32(f32(px[i] * s[i % 3]) + m[i % 3]) / 255);
}

/** [0, 1] → mmseg-normalised in place: (x·255 − mean)/std (DACS renorm_, float32). */
export function renormalizePixels(px: Float32Array, mean: readonly number[], std: readonly number[]): void {
  const [m, s] = [mean.map(f32), std.map(f32)];
  for (let i = 0; i < px.length; i++) px[i] = f32(f32(f32(px[i] * 255) - m[i % 3]) / s[i % 3]);
}

/** The DACS colour jitter on normalised interleaved RGB pixels, in place. */
export function colorJitterNormalizedPixels(px: Float32Array, p: ColorJitterParams, mean: readonly number[], std: readonly number[]): void {
  if (mean.length !== 3 || std.length !== 3) {
    throw new AugmentParamsError(`colour jitter needs 3-channel mean/std, got mean [${mean}] std [${std}]`);
  }
  denormalizePixels01(px, mean, std);
  colorJitterPixels01(px, p);
  renormalizePixels(px, mean, std);
}

/** Tensor form: jitter an RGB image in [0, 1] (channels last). Returns a new tensor. */
export function colorJitter01(x: tf.Tensor, p: ColorJitterParams): tf.Tensor {
  return onPixels(x, (px) => colorJitterPixels01(px, p));
}

/** Tensor form of the DACS colour jitter on a normalised NHWC image. Returns a new tensor. */
export function colorJitterNormalized(img: tf.Tensor, p: ColorJitterParams, mean: readonly number[], std: readonly number[]): tf.Tensor {
  return onPixels(img, (px) => colorJitterNormalizedPixels(px, p, mean, std));
}

const NEUTRAL: OpConstants = { add: 0, mul: 1, sat: 1, hueRad: 0 };

/** Single ops (tensor in [0, 1] → new tensor), for callers and tests that need one op. */
export function adjustBrightness(x: tf.Tensor, b: number): tf.Tensor {
  return onPixels(x, (px) => applyOps(px, { ...NEUTRAL, add: f32(f32(b) - 1) }, [0]));
}
export function adjustContrast(x: tf.Tensor, c: number): tf.Tensor {
  return onPixels(x, (px) => applyOps(px, { ...NEUTRAL, mul: f32(c) }, [1]));
}
export function adjustSaturation(x: tf.Tensor, s: number): tf.Tensor {
  return onPixels(x, (px) => applyOps(px, { ...NEUTRAL, sat: f32(s) }, [2]));
}
/** Hue shift in radians (kornia's adjust_hue takes radians; the jitter passes 2π·h). */
export function adjustHue(x: tf.Tensor, shiftRad: number): tf.Tensor {
  return onPixels(x, (px) => applyOps(px, { ...NEUTRAL, hueRad: f32(shiftRad) }, [3]));
}

function onPixels(x: tf.Tensor, fn: (px: Float32Array) => void): tf.Tensor {
  if (x.rank < 1 || x.shape[x.rank - 1] !== 3) {
    throw new AugmentParamsError(`colour jitter: expected a channels-last RGB tensor, got shape [${x.shape}]`);
  }
  const px = Float32Array.from(x.dataSync());
  fn(px);
  return tf.tensor(px, x.shape, 'float32');
}
