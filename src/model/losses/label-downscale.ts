// Label downscaling by majority ratio (DAFormer/HRDA `downscale_label_ratio`), used to decide
// which bottleneck-feature cells the ImageNet feature distance looks at. Labels carry no
// gradient, so this is exact integer work on the host, not tensor math:
//   255 → substitute class C; per k×k cell (k = scale factor, floor-sized output like
//   avg_pool2d) count every class 0..C; take the first class with the highest count; if its
//   fraction < minRatio, or it is the substitute, the cell becomes 255.
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from './cross-entropy.js';

export class LabelDownscaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelDownscaleError';
  }
}

export interface DownscaleOptions {
  /** Integer pooling factor k (> 1): output is floor(H/k) × floor(W/k). */
  scaleFactor: number;
  /** Cells whose majority fraction is below this become ignore (0.75 in PiPa). */
  minRatio: number;
  numClasses: number;
  ignoreIndex?: number;
}

/** Host version: labels int32 row-major [B,H,W] → int32 [B, ⌊H/k⌋, ⌊W/k⌋]. */
export function downscaleLabelRatioArray(
  labels: Int32Array | Uint8Array,
  shape: readonly [number, number, number],
  o: DownscaleOptions,
): { data: Int32Array; shape: [number, number, number] } {
  const { scaleFactor: k, minRatio, numClasses } = o;
  const ignore = o.ignoreIndex ?? IGNORE_INDEX;
  if (!Number.isInteger(k) || k <= 1) throw new LabelDownscaleError(`scale factor must be an integer > 1, got ${k}`);
  const [b, h, w] = shape;
  if (labels.length !== b * h * w) throw new LabelDownscaleError(`labels have ${labels.length} values but shape [${shape}] needs ${b * h * w}`);
  const oh = Math.floor(h / k);
  const ow = Math.floor(w / k);
  const out = new Int32Array(b * oh * ow);
  const counts = new Int32Array(numClasses + 1);
  // avg_pool2d computes count / k² in float32 and torch compares it to the float32 of minRatio.
  const cellSize = k * k;
  const minRatio32 = Math.fround(minRatio);
  for (let n = 0; n < b; n++) {
    for (let cy = 0; cy < oh; cy++) {
      for (let cx = 0; cx < ow; cx++) {
        counts.fill(0);
        for (let y = cy * k; y < cy * k + k; y++) {
          const row = (n * h + y) * w;
          for (let x = cx * k; x < cx * k + k; x++) {
            const v = labels[row + x];
            if (v === ignore) counts[numClasses]++;
            else if (v >= 0 && v < numClasses) counts[v]++;
            else throw new LabelDownscaleError(`label ${v} at (image ${n}, y ${y}, x ${x}) is outside 0..${numClasses - 1} and is not the ignore index ${ignore}`);
          }
        }
        let best = 0;
        for (let c = 1; c <= numClasses; c++) if (counts[c] > counts[best]) best = c; // first max wins ties
        const ratio = Math.fround(counts[best] / cellSize);
        out[(n * oh + cy) * ow + cx] = best === numClasses || ratio < minRatio32 ? ignore : best;
      }
    }
  }
  return { data: out, shape: [b, oh, ow] };
}

/** Tensor version: labels int32 [B,H,W] → int32 [B, ⌊H/k⌋, ⌊W/k⌋] (reads the labels to the host). */
export function downscaleLabelRatio(labels: tf.Tensor3D, o: DownscaleOptions): tf.Tensor3D {
  if (labels.dtype !== 'int32') throw new LabelDownscaleError(`labels must be int32, got ${labels.dtype}`);
  const r = downscaleLabelRatioArray(labels.dataSync() as Int32Array, labels.shape, o);
  return tf.tensor3d(r.data, r.shape, 'int32');
}

/** 1 where the label is one of `classes`, else 0 (host arrays). */
export function classMembershipMask(labels: Int32Array, classes: readonly number[]): Uint8Array {
  const wanted = new Set(classes);
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) mask[i] = wanted.has(labels[i]) ? 1 : 0;
  return mask;
}
