// HRDA crop boxes: (y1, y2, x1, x2) in pixels of the grid they refer to, end-exclusive,
// as hrda_encoder_decoder.get_crop_bbox / hrda_head.scale_box produce them.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';

/** [y1, y2, x1, x2], end-exclusive (same row order as the fixtures' step.crop_boxes). */
export type CropBox = readonly [number, number, number, number];

export class CropBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CropBoxError';
  }
}

/** hrda_head.scale_box: every coordinate int(v / scale) (truncation, as Python's int()). */
export function scaleBox(box: CropBox, scale: number): CropBox {
  return [Math.trunc(box[0] / scale), Math.trunc(box[1] / scale), Math.trunc(box[2] / scale), Math.trunc(box[3] / scale)];
}

/**
 * get_crop_bbox: a random crop of `crop` inside an imgH×imgW image whose offsets are
 * multiples of `divisible`: offset = randint(0, (margin+1)//divisible)·divisible per axis,
 * drawn y first, then x. An image equal to the crop returns the whole image without drawing.
 * Deviation: where the original's randint range is empty (0 < margin+1 < divisible, or one
 * axis equal to the crop while the other is not) numpy raises; we use offset 0 instead.
 */
export function randomCropBox(rng: Rng, imgH: number, imgW: number, crop: readonly [number, number], divisible = 1): CropBox {
  if (!(crop[0] > 0 && crop[1] > 0)) throw new CropBoxError(`crop size must be positive, got [${crop}]`);
  if (!(Number.isInteger(divisible) && divisible >= 1)) throw new CropBoxError(`crop_coord_divisible must be a positive integer, got ${divisible}`);
  if (imgH === crop[0] && imgW === crop[1]) return [0, imgH, 0, imgW];
  const offset = (margin: number): number => {
    const n = Math.floor((margin + 1) / divisible);
    return n > 0 ? rng.randint(0, n) * divisible : 0;
  };
  const oy = offset(Math.max(imgH - crop[0], 0));
  const ox = offset(Math.max(imgW - crop[1], 0));
  return [oy, oy + crop[0], ox, ox + crop[1]];
}

/** Throws unless the box lies inside an h×w grid and is non-empty. */
export function checkBoxInside(box: CropBox, h: number, w: number, what: string): void {
  const [y1, y2, x1, x2] = box;
  if (!(y1 >= 0 && x1 >= 0 && y2 <= h && x2 <= w && y2 > y1 && x2 > x1)) {
    throw new CropBoxError(`${what}: box (y1=${y1}, y2=${y2}, x1=${x1}, x2=${x2}) is not a non-empty box inside ${h}×${w}`);
  }
}

/** img[:, y1:y2, x1:x2, :] of an NHWC tensor (the box must lie inside). */
export function cropNhwc(x: tf.Tensor4D, box: CropBox): tf.Tensor4D {
  const [, h, w] = x.shape;
  checkBoxInside(box, h, w, 'crop');
  const [y1, y2, x1, x2] = box;
  return tf.slice(x, [0, y1, x1, 0], [-1, y2 - y1, x2 - x1, -1]);
}
