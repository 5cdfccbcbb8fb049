// DACS Gaussian blur = kornia 0.5.8 GaussianBlur2d((ky, kx), (σ, σ)), border 'reflect',
// on the normalised NHWC image (SPEC §1.7). kornia builds the 2-D kernel as the outer
// product of two normalised 1-D kernels and convolves once; we convolve the two 1-D
// kernels one after the other (same result up to float32 summation order, and
// ~k/2 times cheaper: 103×103 taps per pixel at 1024²).
import * as tf from '@tensorflow/tfjs';
import { AugmentParamsError } from './errors.js';

/** DACS kernel size along an axis of length L: floor(ceil(0.1·L) − 0.5 + ceil(0.1·L) mod 2); always odd. */
export function blurKernelSize(length: number): number {
  const c = Math.ceil(0.1 * length); // float64, like numpy
  return Math.floor(c - 0.5 + (c % 2));
}

/**
 * kornia `gaussian(window_size, sigma)` in float32: x = i − ⌊k/2⌋ (+0.5 for even k),
 * g = exp(−x²/(2σ²)), g / Σg.
 */
export function gaussianKernel1d(size: number, sigma: number): Float32Array {
  if (!Number.isInteger(size) || size < 1) throw new AugmentParamsError(`Gaussian kernel size must be a positive integer, got ${size}`);
  if (!(sigma > 0)) throw new AugmentParamsError(`Gaussian sigma must be > 0, got ${sigma}`);
  const f32 = Math.fround;
  const denom = f32(2 * sigma ** 2);
  const g = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - Math.floor(size / 2) + (size % 2 === 0 ? 0.5 : 0);
    g[i] = f32(Math.exp(f32(-(x * x) / denom)));
    sum = f32(sum + g[i]);
  }
  for (let i = 0; i < size; i++) g[i] = f32(g[i] / sum);
  return g;
}

/** Blur every image of an NHWC batch with one σ, kernel sizes from the image size. */
export function gaussianBlur(img: tf.Tensor4D, sigma: number): tf.Tensor4D {
  const [, h, w, c] = img.shape;
  const ky = blurKernelSize(h);
  const kx = blurKernelSize(w);
  for (const [k, len, axis] of [
    [ky, h, 'height'],
    [kx, w, 'width'],
  ] as const) {
    // Reflect padding (no edge repeat) needs pad < length, as in torch.nn.functional.pad.
    if (Math.floor(k / 2) >= len) {
      throw new AugmentParamsError(`gaussianBlur: kernel ${k} needs ${Math.floor(k / 2)} reflected pixels but the ${axis} is only ${len}`);
    }
  }
  return tf.tidy(() => {
    const kernelY = tf.tile(tf.tensor4d(gaussianKernel1d(ky, sigma), [ky, 1, 1, 1]), [1, 1, c, 1]);
    const kernelX = tf.tile(tf.tensor4d(gaussianKernel1d(kx, sigma), [1, kx, 1, 1]), [1, 1, c, 1]);
    const py = Math.floor(ky / 2);
    const px = Math.floor(kx / 2);
    const padded = tf.mirrorPad(img, [
      [0, 0],
      [py, py],
      [px, px],
      [0, 0],
    ], 'reflect');
    const vertical = tf.depthwiseConv2d(padded, kernelY, 1, 'valid');
    return tf.depthwiseConv2d(vertical, kernelX, 1, 'valid');
  });
}
