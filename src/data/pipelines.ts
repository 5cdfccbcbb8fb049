// The per-sample pipelines of SPEC §4.3 on decoded images: source (GTA/Synthia: keep-ratio resize,
// RandomCrop with cat_max_ratio, RandomFlip, Normalize, Pad, plus the RCS re-crop loop of §4.4),
// target (Cityscapes: resize, crop, flip, valid-pseudo-label mask) and test (resize, Normalize).
// Geometry is decided on the label first; the image is then resized only inside the chosen crop.
import type { Rng } from '../common/random.js';
import { DataConfigError, ImageReadError } from './errors.js';
import type { RgbImage } from './image-io.js';
import { IGNORE_INDEX } from './labels.js';
import { keepRatioSize, resizeBilinearWindow, resizeNearestWindow, type Window } from './resize.js';
import {
  cropWithCatMaxRatio, drawFlip, flipHorizontal, normalisationTable, normaliseAndPad, padMap,
  validPseudoMask, type CropBox, type Normalisation, type PseudoMargins,
} from './transforms.js';
import type { SourceSample, TargetSample } from './types.js';

export interface SourcePipelineConfig {
  /** Keep-ratio Resize img_scale (long, short), e.g. [2560, 1440]; null = no resize. */
  resizeScale: readonly [number, number] | null;
  /** RandomCrop size [height, width]. */
  crop: readonly [number, number];
  /** RandomCrop cat_max_ratio (≥ 1 disables the re-draws). */
  catMaxRatio: number;
  flipProb: number;
  norm: Normalisation;
}

export interface TargetPipelineConfig {
  resizeScale: readonly [number, number] | null;
  crop: readonly [number, number];
  flipProb: number;
  norm: Normalisation;
  /** [top, bottom, left, right] in original pixels; null = whole image valid. */
  pseudoMargins: PseudoMargins | null;
}

export interface TestPipelineConfig {
  resizeScale: readonly [number, number] | null;
  norm: Normalisation;
}

/** RCS re-crop rule: re-run the pipeline while the crop has ≤ minCropPixels of `cls` (SPEC §4.4). */
export interface RcsCropRule {
  cls: number;
  /** rcs_min_pixels × rcs_min_crop_ratio (3000 × 2.0). */
  minCropPixels: number;
  /** Re-runs after the first (10). */
  maxReruns: number;
}

export interface LabelMap {
  data: Uint8Array;
  width: number;
  height: number;
}

const lutCache = new Map<string, Float32Array>();
function lutFor(norm: Normalisation): Float32Array {
  const key = JSON.stringify(norm);
  let lut = lutCache.get(key);
  if (!lut) lutCache.set(key, (lut = normalisationTable(norm)));
  return lut;
}

function checkCrop(crop: readonly [number, number]): void {
  if (!(crop[0] > 0 && crop[1] > 0 && Number.isInteger(crop[0]) && Number.isInteger(crop[1]))) {
    throw new DataConfigError(`crop must be two positive integers [height, width], got [${crop.join(', ')}]`);
  }
}

const windowOf = (b: CropBox): Window => ({ y: b.y1, x: b.x1, height: b.y2 - b.y1, width: b.x2 - b.x1 });

function countClass(map: Uint8Array, cls: number): number {
  let n = 0;
  for (let i = 0; i < map.length; i++) if (map[i] === cls) n++;
  return n;
}

/** Resized crop of the image, flipped if asked, normalised and padded to the crop size. */
function imageCrop(img: RgbImage, rw: number, rh: number, box: CropBox, flip: boolean, crop: readonly [number, number], norm: Normalisation): Float32Array {
  const win = windowOf(box);
  const rgb = resizeBilinearWindow(img.data, img.width, img.height, 3, rw, rh, win);
  if (flip) flipHorizontal(rgb, win.height, win.width, 3);
  return normaliseAndPad(rgb, win.height, win.width, lutFor(norm), crop[0], crop[1]);
}

export function sourceSample(
  img: RgbImage, label: LabelMap, cfg: SourcePipelineConfig, rng: Rng,
  where: { path: string; labelPath: string; index: number }, rcs: RcsCropRule | null = null,
): SourceSample {
  checkCrop(cfg.crop);
  if (label.width !== img.width || label.height !== img.height) {
    throw new ImageReadError(where.labelPath, `label is ${label.width}×${label.height} but the image ${where.path} is ${img.width}×${img.height}`);
  }
  const [rw, rh] = cfg.resizeScale ? keepRatioSize(img.width, img.height, cfg.resizeScale) : [img.width, img.height];
  const [ch, cw] = cfg.crop;
  const labelCrop = (b: CropBox) => resizeNearestWindow(label.data, label.width, label.height, rw, rh, windowOf(b));
  let box: CropBox, flip: boolean, cropLabel: Uint8Array;
  let cropDraws = 0, runs = 0;
  for (;;) {
    const c = cropWithCatMaxRatio(rng, rh, rw, ch, cw, cfg.catMaxRatio, labelCrop);
    box = c.box;
    cropDraws += c.draws;
    flip = drawFlip(rng, cfg.flipProb);
    runs++;
    cropLabel = labelCrop(box);
    if (!rcs || runs > rcs.maxReruns || countClass(cropLabel, rcs.cls) > rcs.minCropPixels) break;
  }
  const h = box.y2 - box.y1, w = box.x2 - box.x1;
  if (flip) flipHorizontal(cropLabel, h, w, 1);
  return {
    img: imageCrop(img, rw, rh, box, flip, cfg.crop, cfg.norm),
    label: padMap(cropLabel, h, w, ch, cw, IGNORE_INDEX),
    height: ch,
    width: cw,
    meta: {
      path: where.path, labelPath: where.labelPath, index: where.index, flip, crop: box,
      originalSize: [img.height, img.width], resizedSize: [rh, rw], cropDraws,
      rcsClass: rcs ? rcs.cls : null, rcsRuns: runs,
    },
  };
}

export function targetSample(img: RgbImage, cfg: TargetPipelineConfig, rng: Rng, where: { path: string; index: number }): TargetSample {
  checkCrop(cfg.crop);
  const [rw, rh] = cfg.resizeScale ? keepRatioSize(img.width, img.height, cfg.resizeScale) : [img.width, img.height];
  const [ch, cw] = cfg.crop;
  const { box, draws } = cropWithCatMaxRatio(rng, rh, rw, ch, cw, 1, null);
  const flip = drawFlip(rng, cfg.flipProb);
  const h = box.y2 - box.y1, w = box.x2 - box.x1;
  let mask: Uint8Array;
  if (cfg.pseudoMargins) {
    const full = validPseudoMask(img.height, img.width, cfg.pseudoMargins);
    mask = resizeNearestWindow(full, img.width, img.height, rw, rh, windowOf(box));
    if (flip) flipHorizontal(mask, h, w, 1);
  } else {
    mask = new Uint8Array(h * w).fill(1);
  }
  return {
    img: imageCrop(img, rw, rh, box, flip, cfg.crop, cfg.norm),
    // Padding is not valid for pseudo-labels (mmseg would pad this seg field with 255; never hit at 1024²).
    validPseudoMask: padMap(mask, h, w, ch, cw, 0),
    height: ch,
    width: cw,
    meta: {
      path: where.path, index: where.index, flip, crop: box,
      originalSize: [img.height, img.width], resizedSize: [rh, rw], cropDraws: draws,
    },
  };
}

/** Test pipeline: keep-ratio resize of the whole image and Normalize (no flip, no crop). */
export function testImage(img: RgbImage, cfg: TestPipelineConfig): { img: Float32Array; height: number; width: number } {
  const [rw, rh] = cfg.resizeScale ? keepRatioSize(img.width, img.height, cfg.resizeScale) : [img.width, img.height];
  const rgb = resizeBilinearWindow(img.data, img.width, img.height, 3, rw, rh, { y: 0, x: 0, height: rh, width: rw });
  return { img: normaliseAndPad(rgb, rh, rw, lutFor(cfg.norm), rh, rw), height: rh, width: rw };
}
