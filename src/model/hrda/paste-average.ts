// Window logits → one canvas: each window's logits are zero-padded into place
// (F.pad(logit, (x1, W−x2, y1, H−y2)) in the original), summed, and divided by how many
// windows cover each pixel. Used by HRDA's decode_hr and by test-time slide inference.
import * as tf from '@tensorflow/tfjs';
import { CropBoxError, checkBoxInside, type CropBox } from './crop-box.js';

/**
 * stacked: [numBoxes·bs, h, w, C], window-major (window i = rows i·bs … (i+1)·bs−1), as
 * torch.cat of the crops along the batch. Returns [bs, canvasH, canvasW, C].
 */
export function pasteAndAverage(
  stacked: tf.Tensor4D,
  boxes: readonly CropBox[],
  bs: number,
  canvas: readonly [number, number],
): tf.Tensor4D {
  const [H, W] = canvas;
  if (stacked.shape[0] !== boxes.length * bs) {
    throw new CropBoxError(`paste: ${stacked.shape[0]} window rows for ${boxes.length} boxes × batch ${bs}`);
  }
  const count = new Float32Array(H * W);
  for (const box of boxes) {
    checkBoxInside(box, H, W, 'paste');
    const [y1, y2, x1, x2] = box;
    if (stacked.shape[1] !== y2 - y1 || stacked.shape[2] !== x2 - x1) {
      throw new CropBoxError(
        `paste: window logits are ${stacked.shape[1]}×${stacked.shape[2]} but box (y1=${y1}, y2=${y2}, x1=${x1}, x2=${x2}) ` +
          `is ${y2 - y1}×${x2 - x1}; the original's F.pad would fail here too (check crop/stride divisibility)`,
      );
    }
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) count[y * W + x] += 1;
  }
  const uncovered = count.findIndex((c) => c === 0);
  if (uncovered >= 0) throw new CropBoxError(`paste: pixel (${Math.floor(uncovered / W)}, ${uncovered % W}) is covered by no window`);
  return tf.tidy(() => {
    let sum: tf.Tensor4D | null = null;
    boxes.forEach(([y1, y2, x1, x2], i) => {
      const win = tf.slice(stacked, [i * bs, 0, 0, 0], [bs, -1, -1, -1]);
      const placed = tf.pad(win, [
        [0, 0],
        [y1, H - y2],
        [x1, W - x2],
        [0, 0],
      ]) as tf.Tensor4D;
      sum = sum ? (tf.add(sum, placed) as tf.Tensor4D) : placed;
    });
    return tf.div(sum!, tf.tensor4d(count, [1, H, W, 1]));
  });
}
