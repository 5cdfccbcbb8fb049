// mmseg EncoderDecoder.inference with test_cfg mode='slide', batched_slide=True: every
// test window is cut from the image, all windows go through encode_decode as ONE batch,
// their logits are paste-averaged into an image-sized canvas, resized (bilinear,
// align_corners=False) to the original shape, and softmaxed over classes.
import * as tf from '@tensorflow/tfjs';
import { resizeBilinear } from '../layers/resize.js';
import { cropNhwc } from './crop-box.js';
import { slideWindowBoxes } from './slide-windows.js';
import { pasteAndAverage } from './paste-average.js';

export interface TestSlideOptions {
  crop: readonly [number, number];
  stride: readonly [number, number];
}

/** Averaged window logits [B, H, W, K] at the input size. */
export function slideLogits(encodeDecode: (x: tf.Tensor4D) => tf.Tensor4D, slide: TestSlideOptions, x: tf.Tensor4D): tf.Tensor4D {
  const [bs, h, w] = x.shape;
  const boxes = slideWindowBoxes(h, w, slide.crop, slide.stride);
  return tf.tidy(() => {
    const windows = boxes.length === 1 ? cropNhwc(x, boxes[0]) : (tf.concat(boxes.map((b) => cropNhwc(x, b)), 0) as tf.Tensor4D);
    return pasteAndAverage(encodeDecode(windows), boxes, bs, [h, w]);
  });
}

/** Softmax probabilities [B, oriH, oriW, K]; `oriShape` null keeps the input size. */
export function slideInference(
  encodeDecode: (x: tf.Tensor4D) => tf.Tensor4D,
  slide: TestSlideOptions,
  x: tf.Tensor4D,
  oriShape: readonly [number, number] | null,
): tf.Tensor4D {
  return tf.tidy(() => {
    const logits = slideLogits(encodeDecode, slide, x);
    const rescaled = oriShape ? resizeBilinear(logits, [oriShape[0], oriShape[1]]) : logits;
    return tf.softmax(rescaled) as tf.Tensor4D;
  });
}
