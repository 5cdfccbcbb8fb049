// RGB ↔ HSV with kornia 0.5.x conventions, one pixel at a time in float32 arithmetic
// (every intermediate rounded with Math.fround, as a float32 tensor op would):
//   v = max(r,g,b);  s = (max − min)/(max + eps), eps = 1e-6 (so s = 0 for black);
//   h in radians [0, 2π): the sector is chosen by the FIRST channel equal to the max
//   (r before g before b), h = ((sector formula / delta) / 6 mod 1)·2π, delta = 1 where
//   delta = 0 (grey pixels get h = 0).
// hsv→rgb uses hi = floor(6h') mod 6, f = (6h' mod 6) − hi with h' = H/2π and floor-mod,
// so a negative H (C fmod of a negative hue shift) wraps correctly.
// Why per pixel in JS and not tensor ops: this runs once per iteration on data that is
// not differentiated, and ~40 broadcast tensor ops per image were 10–100× slower on the
// TF.js CPU/WASM backends than one typed-array pass.
import * as tf from '@tensorflow/tfjs';
import { AugmentParamsError } from './errors.js';

const f32 = Math.fround;
/** float32(2π): also equals 2·float32(π), which is what kornia's hue divisor is. */
export const F32_TWO_PI = f32(2 * Math.PI);
const EPS = f32(1e-6);

/** Python-style modulo (sign of the divisor) on float32 values, like torch.remainder. */
export function floorMod(a: number, b: number): number {
  const m = a % b; // exact for float32 inputs
  return m !== 0 && m < 0 !== b < 0 ? f32(m + b) : m;
}

/** Writes (h, s, v) of one RGB pixel into out[o..o+2]. */
export function rgbToHsvPixel(r: number, g: number, b: number, out: Float32Array | Float64Array, o = 0): void {
  const maxc = Math.max(r, g, b);
  const delta = f32(maxc - Math.min(r, g, b));
  const s = f32(delta / f32(maxc + EPS));
  const d = delta === 0 ? 1 : delta;
  const rc = f32(maxc - r);
  const gc = f32(maxc - g);
  const bc = f32(maxc - b);
  let sector: number;
  if (r === maxc) sector = f32(bc - gc);
  else if (g === maxc) sector = f32(f32(f32(2 * d) + rc) - bc);
  else sector = f32(f32(f32(4 * d) + gc) - rc);
  const h = f32(F32_TWO_PI * floorMod(f32(f32(sector / d) / 6), 1));
  out[o] = h;
  out[o + 1] = s;
  out[o + 2] = maxc;
}

/** Writes (r, g, b) of one HSV pixel into out[o..o+2]. */
export function hsvToRgbPixel(hRad: number, s: number, v: number, out: Float32Array | Float64Array, o = 0): void {
  const h6 = f32(f32(hRad / F32_TWO_PI) * 6);
  const hi = floorMod(Math.floor(h6), 6);
  const f = f32(floorMod(h6, 6) - hi);
  const p = f32(v * f32(1 - s));
  const q = f32(v * f32(1 - f32(f * s)));
  const t = f32(v * f32(1 - f32(f32(1 - f) * s)));
  // kornia's gather from the table [v q p p t v | t v v q p p | p p t v v q] by hi.
  switch (hi) {
    case 0:
      out[o] = v; out[o + 1] = t; out[o + 2] = p;
      break;
    case 1:
      out[o] = q; out[o + 1] = v; out[o + 2] = p;
      break;
    case 2:
      out[o] = p; out[o + 1] = v; out[o + 2] = t;
      break;
    case 3:
      out[o] = p; out[o + 1] = q; out[o + 2] = v;
      break;
    case 4:
      out[o] = t; out[o + 1] = p; out[o + 2] = v;
      break;
    default:
      out[o] = v; out[o + 1] = p; out[o + 2] = q;
      break;
  }
}

/** Tensor form of rgbToHsvPixel for channels-last tensors [..., 3] in [0, 1]. */
export function rgbToHsv(rgb: tf.Tensor): tf.Tensor {
  return mapPixels(rgb, 'rgbToHsv', rgbToHsvPixel);
}

/** Tensor form of hsvToRgbPixel for channels-last tensors [..., 3]. */
export function hsvToRgb(hsv: tf.Tensor): tf.Tensor {
  return mapPixels(hsv, 'hsvToRgb', hsvToRgbPixel);
}

function mapPixels(
  x: tf.Tensor,
  where: string,
  fn: (a: number, b: number, c: number, out: Float32Array, o: number) => void,
): tf.Tensor {
  if (x.rank < 1 || x.shape[x.rank - 1] !== 3) {
    throw new AugmentParamsError(`${where}: expected a channels-last tensor with 3 channels, got shape [${x.shape}]`);
  }
  const src = x.dataSync();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) fn(src[i], src[i + 1], src[i + 2], out, i);
  return tf.tensor(out, x.shape, 'float32');
}
