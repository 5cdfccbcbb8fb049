// The mmseg training transforms after Resize (SPEC §4.3): RandomCrop (with cat_max_ratio re-draws),
// RandomFlip, Normalize, Pad, and the target's valid-pseudo-label margin mask.
import type { Rng } from '../common/random.js';
import { IGNORE_INDEX } from './labels.js';

/** Crop box in resized-image pixels: rows [y1, y2), columns [x1, x2) (clipped to the image). */
export interface CropBox {
  y1: number;
  y2: number;
  x1: number;
  x2: number;
}

/** mmseg RandomCrop.get_crop_bbox: offsets uniform in {0..max(size−crop, 0)}, rows first. */
export function drawCropBox(rng: Rng, height: number, width: number, cropH: number, cropW: number): CropBox {
  const marginH = Math.max(height - cropH, 0);
  const marginW = Math.max(width - cropW, 0);
  const y1 = rng.randint(0, marginH + 1);
  const x1 = rng.randint(0, marginW + 1);
  return { y1, y2: Math.min(y1 + cropH, height), x1, x2: Math.min(x1 + cropW, width) };
}

/**
 * The cat_max_ratio acceptance test: ≥ 2 non-ignored classes and the most frequent one covers
 * < ratio of the non-ignored pixels (np.unique counts with 255 removed).
 */
export function catMaxRatioOk(labelCrop: Uint8Array, ratio: number): boolean {
  const hist = new Int32Array(256);
  for (let i = 0; i < labelCrop.length; i++) hist[labelCrop[i]]++;
  hist[IGNORE_INDEX] = 0;
  let classes = 0, max = 0, sum = 0;
  for (let c = 0; c < 256; c++) {
    const n = hist[c];
    if (n === 0) continue;
    classes++;
    sum += n;
    if (n > max) max = n;
  }
  return classes > 1 && max / sum < ratio;
}

/**
 * RandomCrop with cat_max_ratio: draw a box; while the test fails, re-draw, at most `maxRedraws`
 * times; the last box is kept even if it fails (mmseg: 1 + 10 draws). ratio ≥ 1 disables the test.
 * `labelOf(box)` returns the label crop for a box. Returns the box and how many boxes were drawn.
 */
export function cropWithCatMaxRatio(
  rng: Rng, height: number, width: number, cropH: number, cropW: number,
  catMaxRatio: number, labelOf: ((box: CropBox) => Uint8Array) | null, maxRedraws = 10,
): { box: CropBox; draws: number } {
  let box = drawCropBox(rng, height, width, cropH, cropW);
  let draws = 1;
  if (catMaxRatio < 1 && labelOf) {
    for (let i = 0; i < maxRedraws; i++) {
      if (catMaxRatioOk(labelOf(box), catMaxRatio)) break;
      box = drawCropBox(rng, height, width, cropH, cropW);
      draws++;
    }
  }
  return { box, draws };
}

/** RandomFlip: horizontal with probability p (np.random.rand() < p). */
export function drawFlip(rng: Rng, prob: number): boolean {
  return rng.random() < prob;
}

/** Mirrors a row-major h×w×cn array left↔right in place. */
export function flipHorizontal<T extends Uint8Array | Float32Array>(a: T, h: number, w: number, cn: number): T {
  if (cn === 1) {
    for (let y = 0; y < h; y++) a.subarray(y * w, y * w + w).reverse();
    return a;
  }
  for (let y = 0; y < h; y++) {
    const row = y * w * cn;
    for (let x = 0; x < w >> 1; x++) {
      const l = row + x * cn, r = row + (w - 1 - x) * cn;
      for (let c = 0; c < cn; c++) {
        const t = a[l + c];
        a[l + c] = a[r + c];
        a[r + c] = t;
      }
    }
  }
  return a;
}

export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** mmseg img_norm_cfg of every PiPa/HRDA config (RGB). */
export const IMAGENET_NORMALISATION: Normalisation = {
  mean: [123.675, 116.28, 103.53],
  std: [58.395, 57.12, 57.375],
};

/**
 * Per-channel lookup table (3×256) for mmcv.imnormalize on float32: (v − f32(mean)) then
 * × f32(1/std), each rounded to float32 as cv2.subtract/cv2.multiply do.
 */
export function normalisationTable(norm: Normalisation): Float32Array {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(norm.mean[c]);
    const s = Math.fround(1 / norm.std[c]);
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = Math.fround(Math.fround(v - m) * s);
  }
  return lut;
}

/**
 * Normalises an h×w×3 uint8 crop into a padH×padW×3 float32 image (Pad: bottom/right with 0,
 * after normalisation, as mmseg's Pad follows Normalize).
 */
export function normaliseAndPad(rgb: Uint8Array, h: number, w: number, lut: Float32Array, padH: number, padW: number): Float32Array {
  const out = new Float32Array(padH * padW * 3);
  for (let y = 0; y < h; y++) {
    let i = y * w * 3, o = y * padW * 3;
    for (let x = 0; x < w; x++, i += 3, o += 3) {
      out[o] = lut[rgb[i]];
      out[o + 1] = lut[256 + rgb[i + 1]];
      out[o + 2] = lut[512 + rgb[i + 2]];
    }
  }
  return out;
}

/** Pads an h×w single-channel map to padH×padW (bottom/right) with `value`. */
export function padMap(map: Uint8Array, h: number, w: number, padH: number, padW: number, value: number): Uint8Array {
  if (h === padH && w === padW) return map;
  const out = new Uint8Array(padH * padW).fill(value);
  for (let y = 0; y < h; y++) out.set(map.subarray(y * w, y * w + w), y * padW);
  return out;
}

/** Pseudo-label margins in original-image pixels (HRDA crop_pseudo_margins [top, bottom, left, right]). */
export type PseudoMargins = readonly [number, number, number, number];

/** 1 inside the margins, 0 on them, on the original h×w frame (SPEC §4.3). */
export function validPseudoMask(h: number, w: number, margins: PseudoMargins): Uint8Array {
  const [top, bottom, left, right] = margins;
  const out = new Uint8Array(h * w);
  for (let y = top; y < h - bottom; y++) out.fill(1, y * w + left, Math.max(y * w + left, y * w + w - right));
  return out;
}
