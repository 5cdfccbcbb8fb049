// Geometry of the two overlapping crops of the paper-intent patch contrast (SPEC §1.8,
// CAC's pair sampling): the second crop's offset from the first is a multiple of the
// feature stride, so the overlap falls on whole feature cells of both crops and the two
// views can be compared cell by cell. Pure JS plus one cropping helper.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';

export interface PixelBox {
  y: number;
  x: number;
  h: number;
  w: number;
}

export interface PatchPair {
  /** The crops in image pixels. */
  crop1: PixelBox;
  crop2: PixelBox;
  /** The overlap in each crop's own (unflipped) frame; equal sizes, corners multiples of stride. */
  overlap1: PixelBox;
  overlap2: PixelBox;
  /** Whether each crop is fed to the networks mirrored left-right. */
  flip1: boolean;
  flip2: boolean;
  stride: number;
  iou: number;
  /** No draw met the IoU range within maxTries: crop2 = crop1 (what CAC does too). */
  fellBack: boolean;
}

export interface PatchPairOptions {
  maxTries?: number;
  flipProbability?: number;
}

export class PatchGeometryError extends Error {
  override name = 'PatchGeometryError';
}

/** Intersection-over-union of two equal-size crops offset by (dy, dx); inter = 0 gives 0. */
function pairIou(h: number, w: number, dy: number, dx: number): { iou: number; inter: number } {
  const ih = Math.max(0, h - Math.abs(dy));
  const iw = Math.max(0, w - Math.abs(dx));
  const inter = ih * iw;
  return { iou: inter / (2 * h * w - inter), inter };
}

/** Snap an offset toward zero to a multiple of the stride (stays between the two corners). */
function snap(offset: number, stride: number): number {
  return Math.trunc(offset / stride) * stride;
}

/**
 * Two crops of size `crop` inside an imgH×imgW image: the first corner uniform, then up
 * to maxTries second corners (uniform, offset snapped to the stride) until the IoU lies in
 * [iouRange[0], iouRange[1]]; each crop flipped with flipProbability.
 */
export function patchPairGeometry(
  rng: Rng,
  imgH: number,
  imgW: number,
  crop: number | readonly [number, number],
  stride: number,
  iouRange: readonly [number, number],
  o: PatchPairOptions = {},
): PatchPair {
  const [ch, cw] = typeof crop === 'number' ? [crop, crop] : crop;
  if (!(Number.isInteger(stride) && stride >= 1)) throw new PatchGeometryError(`stride must be a positive integer, got ${stride}`);
  if (!(ch >= stride && cw >= stride && ch <= imgH && cw <= imgW)) {
    throw new PatchGeometryError(`a ${ch}x${cw} crop does not fit a ${imgH}x${imgW} image (stride ${stride}); pad or rescale first`);
  }
  if (!(iouRange[0] <= iouRange[1] && iouRange[1] > 0)) throw new PatchGeometryError(`bad IoU range [${iouRange}]`);
  const maxTries = o.maxTries ?? 50;
  const pFlip = o.flipProbability ?? 0.5;
  const y1 = rng.randint(0, imgH - ch + 1);
  const x1 = rng.randint(0, imgW - cw + 1);
  let dy = 0;
  let dx = 0;
  let fellBack = true;
  for (let t = 0; t < maxTries; t++) {
    const cy = snap(rng.randint(0, imgH - ch + 1) - y1, stride);
    const cx = snap(rng.randint(0, imgW - cw + 1) - x1, stride);
    const { iou, inter } = pairIou(ch, cw, cy, cx);
    if (inter > 0 && iou >= iouRange[0] && iou <= iouRange[1]) {
      [dy, dx, fellBack] = [cy, cx, false];
      break;
    }
  }
  const oh = ch - Math.abs(dy);
  const ow = cw - Math.abs(dx);
  return {
    crop1: { y: y1, x: x1, h: ch, w: cw },
    crop2: { y: y1 + dy, x: x1 + dx, h: ch, w: cw },
    overlap1: { y: Math.max(0, dy), x: Math.max(0, dx), h: oh, w: ow },
    overlap2: { y: Math.max(0, -dy), x: Math.max(0, -dx), h: oh, w: ow },
    flip1: rng.random() < pFlip,
    flip2: rng.random() < pFlip,
    stride,
    iou: pairIou(ch, cw, dy, dx).iou,
    fellBack,
  };
}

/** The overlap in feature cells of each crop's (unflipped) feature map of size featH×featW. */
export interface FeatureOverlap {
  y1: number;
  x1: number;
  y2: number;
  x2: number;
  h: number;
  w: number;
}

/** Whole cells only; clipped so both views stay inside their maps. */
export function featureOverlap(p: PatchPair, featH: number, featW: number): FeatureOverlap {
  const s = p.stride;
  const [y1, x1, y2, x2] = [p.overlap1.y / s, p.overlap1.x / s, p.overlap2.y / s, p.overlap2.x / s];
  if (![y1, x1, y2, x2].every(Number.isInteger)) throw new PatchGeometryError(`overlap corners are not multiples of the stride ${s}`);
  const h = Math.max(0, Math.min(Math.floor(p.overlap1.h / s), featH - y1, featH - y2));
  const w = Math.max(0, Math.min(Math.floor(p.overlap1.w / s), featW - x1, featW - x2));
  return { y1, x1, y2, x2, h, w };
}

/** The two crops of image [1,H,W,C] (or [B,...] sharing one geometry), mirrored where flagged. */
export function cropPatchPair(image: tf.Tensor4D, p: PatchPair): [tf.Tensor4D, tf.Tensor4D] {
  const cut = (b: PixelBox, flip: boolean) =>
    tf.tidy(() => {
      const c = tf.slice(image, [0, b.y, b.x, 0], [-1, b.h, b.w, -1]);
      return flip ? tf.reverse(c, 2) : c;
    });
  return [cut(p.crop1, p.flip1), cut(p.crop2, p.flip2)];
}
