// DACS Gaussian blur = kornia 0.5.8 GaussianBlur2d((ky, kx), (σ, σ)), border 'reflect',
// on the normalised NHWC image (SPEC §1.7). kornia builds the 2-D kernel as the outer
// product of two normalised float32 1-D kernels and convolves once; we convolve with the
// two 1-D kernels one after the other (same result up to summation rounding, float64
// accumulation here), in a typed-array pass: this is per-iteration data preparation,
// not differentiated, and TF.js's depthwise conv ran a 103-tap kernel at ~45 MMAC/s.
// Negligible taps are skipped (see taps()).
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

/** torch 'reflect' padding index (the edge is not repeated): −1 → 1, n → n − 2. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/**
 * Taps of a centred odd kernel that can matter: weights below 1e-20 of the largest are
 * dropped. On normalised images (|x| ≲ 3) the dropped terms sum to < 1e-17, below the
 * float32 resolution of any output larger than ~1e-9; for σ ≤ 1.15 ≤ 23 of 103 taps remain.
 */
function taps(kernel: Float32Array): { offsets: Int32Array; weights: Float64Array } {
  const half = (kernel.length - 1) / 2;
  const cutoff = 1e-20 * Math.max(...kernel);
  const idx = [...kernel.keys()].filter((i) => kernel[i] > cutoff);
  return { offsets: Int32Array.from(idx, (i) => i - half), weights: Float64Array.from(idx, (i) => kernel[i]) };
}

/**
 * Blur one HWC image (interleaved channels) with σ, kernel sizes from the image size.
 * Returns a new array.
 */
export function gaussianBlurHWC(src: Float32Array, h: number, w: number, channels: number, sigma: number): Float32Array {
  if (src.length !== h * w * channels) throw new AugmentParamsError(`gaussianBlur: ${src.length} values for ${h}×${w}×${channels}`);
  const ky = blurKernelSize(h);
  const kx = blurKernelSize(w);
  for (const [k, len, axis] of [
    [ky, h, 'height'],
    [kx, w, 'width'],
  ] as const) {
    // torch.nn.functional.pad(mode='reflect') needs pad < length.
    if ((k - 1) / 2 >= len) throw new AugmentParamsError(`gaussianBlur: kernel ${k} needs ${(k - 1) / 2} reflected pixels but the ${axis} is ${len}`);
  }
  const ty = taps(gaussianKernel1d(ky, sigma));
  const tx = taps(gaussianKernel1d(kx, sigma));
  const rowLen = w * channels;

  // Vertical pass: each output row is a weighted sum of (reflected) source rows; kept in
  // float64 so the two passes round once, like kornia's single 2-D convolution.
  const vertical = new Float64Array(src.length);
  const acc = new Float64Array(rowLen);
  for (let r = 0; r < h; r++) {
    acc.fill(0);
    for (let t = 0; t < ty.offsets.length; t++) {
      const base = reflectIndex(r + ty.offsets[t], h) * rowLen;
      const wt = ty.weights[t];
      for (let i = 0; i < rowLen; i++) acc[i] += wt * src[base + i];
    }
    vertical.set(acc, r * rowLen);
  }

  // Horizontal pass on a reflect-padded copy of each row, so the taps read contiguously.
  const out = new Float32Array(src.length);
  const halfX = (kx - 1) / 2;
  const padded = new Float64Array((w + 2 * halfX) * channels);
  const srcCol = Int32Array.from({ length: w + 2 * halfX }, (_, j) => reflectIndex(j - halfX, w) * channels);
  const starts = Int32Array.from(tx.offsets, (off) => (off + halfX) * channels);
  for (let r = 0; r < h; r++) {
    const row = r * rowLen;
    for (let j = 0; j < srcCol.length; j++) {
      for (let ch = 0; ch < channels; ch++) padded[j * channels + ch] = vertical[row + srcCol[j] + ch];
    }
    for (let i = 0; i < rowLen; i++) {
      let s = 0;
      for (let t = 0; t < starts.length; t++) s += tx.weights[t] * padded[starts[t] + i];
      out[row + i] = s;
    }
  }
  return out;
}

/** Tensor form: blur every image of an NHWC batch with one σ. Returns a new tensor. */
export function gaussianBlur(img: tf.Tensor4D, sigma: number): tf.Tensor4D {
  const [b, h, w, c] = img.shape;
  const src = img.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  const n = h * w * c;
  for (let i = 0; i < b; i++) out.set(gaussianBlurHWC(src.subarray(i * n, (i + 1) * n), h, w, c, sigma), i * n);
  return tf.tensor4d(out, [b, h, w, c], 'float32');
}
