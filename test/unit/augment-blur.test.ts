// DACS Gaussian blur (kornia 0.5.8 GaussianBlur2d, reflect border) against references written here.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { blurKernelSize, gaussianBlur, gaussianKernel1d } from '../../src/model/augment/gaussian-blur.js';
import { AugmentParamsError } from '../../src/model/augment/errors.js';
import { rngFor } from '../../src/common/random.js';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

before(async () => {
  await useTestBackend();
});

/** Normalised float64 Gaussian taps at offsets −⌊k/2⌋..⌊k/2⌋ (k odd). */
function refGaussian(k: number, sigma: number): number[] {
  const g = Array.from({ length: k }, (_, i) => Math.exp(-((i - (k - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((x) => x / s);
}

/** torch 'reflect' index: −1 → 1, n → n − 2 (the edge is not repeated). */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

test('kernel size rule: 1024 → 103, 512 → 51, always odd', () => {
  assert.equal(blurKernelSize(1024), 103);
  assert.equal(blurKernelSize(512), 51);
  assert.equal(blurKernelSize(2048), 205);
  assert.equal(blurKernelSize(128), 13); // ceil(12.8) = 13, odd
  assert.equal(blurKernelSize(64), 7); // ceil(6.4) = 7
  assert.equal(blurKernelSize(40), 3); // ceil(4) = 4, even → 3
  assert.equal(blurKernelSize(720), 71); // ceil(72) = 72, even → 71
  assert.equal(blurKernelSize(1), 1);
  for (let L = 10; L <= 2100; L += 7) assert.equal(blurKernelSize(L) % 2, 1, `L=${L}`);
});

test('1-D kernel equals the normalised Gaussian (float64 reference)', () => {
  for (const [k, sigma] of [
    [103, 0.15],
    [103, 1.15],
    [51, 0.7],
    [7, 0.4],
  ] as const) {
    const got = gaussianKernel1d(k, sigma);
    const want = refGaussian(k, sigma);
    const d = Math.max(...want.map((w, i) => Math.abs(w - got[i])));
    console.log(`  k=${k} σ=${sigma}: max|Δ|=${d.toExponential(2)}`);
    assert.ok(d < 1e-7, `k=${k} σ=${sigma}: ${d}`);
  }
  assert.throws(() => gaussianKernel1d(5, 0), AugmentParamsError);
});

test('blur of a constant image is the image', async () => {
  await withLeakCheck(() => {
    const x = tf.fill([2, 40, 50, 3], 1.7);
    const y = gaussianBlur(x as tf.Tensor4D, 0.9);
    assertClose('constant', y, x, 2e-6);
    tf.dispose([x, y]);
  });
});

test('blur of an impulse is the outer product of the normalised 1-D Gaussian', async () => {
  await withLeakCheck(() => {
    const H = 64;
    const W = 96;
    const sigma = 1.1;
    const ky = blurKernelSize(H); // 7
    const kx = blurKernelSize(W); // 9
    const buf = tf.buffer([1, H, W, 3]);
    const [cy, cx] = [30, 41];
    buf.set(1, 0, cy, cx, 1); // impulse in the green channel only
    const x = buf.toTensor() as tf.Tensor4D;
    const y = gaussianBlur(x, sigma);
    const gy = refGaussian(ky, sigma);
    const gx = refGaussian(kx, sigma);
    const want = tf.buffer([1, H, W, 3]);
    for (let i = 0; i < ky; i++) for (let j = 0; j < kx; j++) want.set(gy[i] * gx[j], 0, cy - (ky - 1) / 2 + i, cx - (kx - 1) / 2 + j, 1);
    const wantT = want.toTensor();
    assertClose(`impulse (k ${ky}×${kx})`, y, wantT, 1e-7);
    tf.dispose([x, y, wantT]);
  });
});

for (const [H, W, sigma] of [
  [90, 57, 1.05],
  [230, 64, 1.15], // 23-tap vertical kernel: the skipped negligible taps must not show
  [210, 33, 0.15],
] as const) {
  test(`random ${H}×${W} image, σ ${sigma}, reflect borders: matches a direct 2-D float64 convolution`, async () => {
    await withLeakCheck(() => {
      const rng = rngFor(2, 'blur-random', H);
      const data = Float32Array.from({ length: H * W * 3 }, () => rng.normal());
      const x = tf.tensor4d(data, [1, H, W, 3]);
      const ky = blurKernelSize(H);
      const kx = blurKernelSize(W);
      const gy = refGaussian(ky, sigma);
      const gx = refGaussian(kx, sigma);
      const ref = new Float32Array(H * W * 3);
      for (let r = 0; r < H; r++)
        for (let c = 0; c < W; c++)
          for (let ch = 0; ch < 3; ch++) {
            let acc = 0;
            for (let i = 0; i < ky; i++)
              for (let j = 0; j < kx; j++) {
                const rr = reflect(r + i - (ky - 1) / 2, H);
                const cc = reflect(c + j - (kx - 1) / 2, W);
                acc += gy[i] * gx[j] * data[(rr * W + cc) * 3 + ch];
              }
            ref[(r * W + c) * 3 + ch] = acc;
          }
      const y = gaussianBlur(x, sigma);
      const refT = tf.tensor4d(ref, [1, H, W, 3]);
      assertClose(`random ${H}×${W}, k ${ky}×${kx}`, y, refT, 2e-6);
      tf.dispose([x, y, refT]);
    });
  });
}

test('tiny images (kernel 1 or 3) blur without error and keep their shape', async () => {
  await withLeakCheck(() => {
    for (const [h, w] of [
      [1, 1],
      [3, 40],
      [25, 2],
    ]) {
      const x = tf.ones([1, h, w, 3]) as tf.Tensor4D;
      const y = gaussianBlur(x, 0.5);
      assertClose(`ones ${h}×${w}`, y, x, 2e-6);
      tf.dispose([x, y]);
    }
  });
});
