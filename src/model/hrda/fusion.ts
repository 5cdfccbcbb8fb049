// HRDA scale fusion (HRDAHead.forward after the three head calls, SPEC §2.2/§2.4):
//   att ← att · mask(crop box on the LR logit grid)          (training only)
//   lr' = (1 − att) · lr_seg                                  (second return value)
//   fused = up(att) · hr_inserted + up(lr')                   up = bilinear, scale_factor hr/lr
// where hr_inserted is the HR-crop logits pasted into a zero canvas (training) or the
// slide-averaged HR logits covering the whole image (inference).
import * as tf from '@tensorflow/tfjs';
import { resizeBilinear, scaledSize } from '../layers/resize.js';
import { CropBoxError, scaleBox, type CropBox } from './crop-box.js';

export interface FusionGeometry {
  /** Output stride of the head (4 for DAFormer). */
  os: number;
  lrScale: number;
  hrScale: number;
}

export interface FusionResult {
  fused: tf.Tensor4D;
  /** (1 − att)·lr_seg on the LR grid — what HRDAHead.forward returns second. */
  lrSegTimes1MinusAtt: tf.Tensor4D;
}

/** A [1,h,w,1] float mask that is 1 on rows y1:y2, cols x1:x2 (Python slice clipping). */
function boxMask(h: number, w: number, box: CropBox): tf.Tensor4D {
  const m = new Float32Array(h * w);
  const [y1, y2, x1, x2] = box;
  for (let y = Math.max(y1, 0); y < Math.min(y2, h); y++) for (let x = Math.max(x1, 0); x < Math.min(x2, w); x++) m[y * w + x] = 1;
  return tf.tensor4d(m, [1, h, w, 1]);
}

/**
 * lrSeg [B,h,w,K]; att [B,h,w,K or 1] (already through the sigmoid); hrSeg: the HR logits —
 * the crop's own logits when `crop` is given (box in HR-image pixels), else the HR logits
 * covering the whole image on the upsampled grid.
 */
export function hrdaFuse(
  lrSeg: tf.Tensor4D,
  att: tf.Tensor4D,
  hrSeg: tf.Tensor4D,
  crop: CropBox | null,
  g: FusionGeometry,
): FusionResult {
  const [, h, w] = lrSeg.shape;
  const ratio = g.hrScale / g.lrScale;
  const up = scaledSize(h, w, ratio);
  return tf.tidy(() => {
    let a = att;
    if (crop) a = tf.mul(a, boxMask(h, w, scaleBox(crop, g.os / g.lrScale)));
    const lrScaled = tf.mul(tf.sub(1, a), lrSeg) as tf.Tensor4D;
    const upLr = resizeBilinear(lrScaled, up, { scaleFactor: ratio });
    const upAtt = resizeBilinear(a, up, { scaleFactor: ratio });
    const hrInserted = crop ? insertCrop(hrSeg, scaleBox(crop, g.os), up) : hrSeg;
    if (hrInserted.shape[1] !== up[0] || hrInserted.shape[2] !== up[1]) {
      throw new CropBoxError(
        `HRDA fusion: HR logits are ${hrInserted.shape[1]}×${hrInserted.shape[2]} but the upsampled LR grid is ${up[0]}×${up[1]} ` +
          `(input size, hr_crop_size and the slide stride must be multiples of the output stride)`,
      );
    }
    const fused = tf.add(tf.mul(upAtt, hrInserted), upLr) as tf.Tensor4D;
    return { fused, lrSegTimes1MinusAtt: lrScaled };
  });
}

/** torch.zeros_like(up_lr_seg)[:, :, y1:y2, x1:x2] = hr_seg, as a differentiable pad. */
function insertCrop(hrSeg: tf.Tensor4D, box: CropBox, canvas: [number, number]): tf.Tensor4D {
  const [y1, y2, x1, x2] = box;
  const [H, W] = canvas;
  if (!(y1 >= 0 && x1 >= 0 && y2 <= H && x2 <= W) || hrSeg.shape[1] !== y2 - y1 || hrSeg.shape[2] !== x2 - x1) {
    throw new CropBoxError(
      `HRDA fusion: HR crop logits ${hrSeg.shape[1]}×${hrSeg.shape[2]} do not fit the box ` +
        `(y1=${y1}, y2=${y2}, x1=${x1}, x2=${x2}) of the ${H}×${W} canvas`,
    );
  }
  return tf.pad(hrSeg, [
    [0, 0],
    [y1, H - y2],
    [x1, W - x2],
    [0, 0],
  ]) as tf.Tensor4D;
}
