// Pixel contrast loss core against a float64 evaluation of its definition (value and
// finite-difference gradient), and the K = 0 guard.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { CODE_EXACT_SAMPLING, sampleAnchors } from '../../src/model/losses/anchor-sampling.js';
import { pixelContrast, pixelContrastCore, pixelContrastLoss, pixelContrastMode } from '../../src/model/losses/pixel-contrast.js';

before(async () => {
  await useTestBackend();
});

const TAU = 0.1;
const BASE = 0.07;

/** SPEC §1.6 in float64: anchors v·K + k, positives exclude self, negatives-only denominator. */
function reference(f: Float64Array, K: number, V: number, D: number, cls: number[]): number {
  const A = K * V;
  const row = (a: number) => {
    const k = a % K;
    const v = Math.floor(a / K);
    return f.subarray((k * V + v) * D, (k * V + v + 1) * D);
  };
  const sim = (a: number, b: number) => row(a).reduce((s, x, i) => s + x * row(b)[i], 0) / TAU;
  let total = 0;
  for (let a = 0; a < A; a++) {
    const ca = cls[a % K];
    const s = Array.from({ length: A }, (_, b) => sim(a, b));
    const m = Math.max(...s);
    const negSum = s.reduce((acc, x, b) => acc + (cls[b % K] !== ca ? Math.exp(x - m) : 0), 0);
    let sum = 0;
    let count = 0;
    for (let b = 0; b < A; b++) {
      if (b === a || cls[b % K] !== ca) continue;
      sum += s[b] - m - Math.log(Math.exp(s[b] - m) + negSum);
      count++;
    }
    total += -(TAU / BASE) * (sum / count);
  }
  return total / A;
}

function unitFeatures(seed: number, K: number, V: number, D: number): Float64Array {
  const rng = rngFor(seed, 'feats');
  const f = new Float64Array(K * V * D);
  for (let r = 0; r < K * V; r++) {
    const v = Array.from({ length: D }, () => rng.normal());
    const n = Math.hypot(...v);
    for (let i = 0; i < D; i++) f[r * D + i] = Math.fround(v[i] / n);
  }
  return f;
}

test('pixelContrastCore: value and gradient match a float64 evaluation', async () => {
  const [K, V, D] = [4, 3, 5];
  const cls = [2, 7, 2, 255]; // two anchors share class 2 (different images)
  const f = unitFeatures(1, K, V, D);
  await withLeakCheck(() => {
    const init = tf.tensor3d(Float32Array.from(f), [K, V, D]);
    const x = tf.variable(init);
    init.dispose();
    const { value, grads } = tf.variableGrads(() => pixelContrastCore(x as tf.Tensor3D, cls), [x]);
    const want = reference(f, K, V, D, cls);
    const got = value.dataSync()[0];
    console.log(`  loss ${got} vs float64 ${want}`);
    assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want));
    // central differences of the float64 reference
    const g = grads[x.name].dataSync();
    const h = 1e-6;
    let worst = 0;
    for (let i = 0; i < f.length; i++) {
      const fp = Float64Array.from(f);
      const fm = Float64Array.from(f);
      fp[i] += h;
      fm[i] -= h;
      const num = (reference(fp, K, V, D, cls) - reference(fm, K, V, D, cls)) / (2 * h);
      worst = Math.max(worst, Math.abs(num - g[i]));
    }
    console.log(`  gradient max|Δ| vs finite differences: ${worst.toExponential(3)}`);
    assert.ok(worst < 2e-4, `gradient differs by ${worst}`);
    tf.dispose([x, value, ...Object.values(grads)]);
  });
});

test('pixel contrast: no qualifying class (K = 0) gives 0 and a usable gradient call', async () => {
  await withLeakCheck(() => {
    const [B, h, w, D] = [2, 4, 4, 3];
    const init = tf.randomNormal([B, h, w, D], 0, 1, 'float32', 7);
    const emb = tf.variable(init);
    init.dispose();
    // every class has ≤ 100 pixels at 4x4
    const labels = Int32Array.from({ length: B * 16 * 16 }, (_, i) => i % 19);
    const predict = new Int32Array(B * h * w);
    const sample = sampleAnchors(new Int32Array(B * h * w), predict, B, h * w, rngFor(0), CODE_EXACT_SAMPLING);
    assert.equal(sample.numAnchors, 0);
    const { value, grads } = tf.variableGrads(() => pixelContrastLoss(emb as tf.Tensor4D, sample), [emb]);
    // 0·x may be −0 depending on the sign of x; both are the loss value 0.
    assert.ok(value.dataSync()[0] === 0, `loss ${value.dataSync()[0]}`);
    assert.ok(grads[emb.name].dataSync().every((v) => v === 0), "zero gradient");
    const full = pixelContrast({ embedding: emb as tf.Tensor4D, labels, labelShape: [B, 16, 16], predict, perms: rngFor(1) });
    assert.equal(full.sample.numAnchors, 0);
    assert.ok(full.loss.dataSync()[0] === 0, `loss ${full.loss.dataSync()[0]}`);
    tf.dispose([emb, value, full.loss, ...Object.values(grads)]);
  });
});

test('pixelContrastMode fixed: labels come from the detail crop and 255 is not a class', async () => {
  await withLeakCheck(() => {
    const [B, H, W, h, w] = [1, 32, 32, 16, 16];
    // left half of the image is 255, right half class 3; the detail crop is the right half's top
    const labels = Int32Array.from({ length: B * H * W }, (_, i) => (i % W < 16 ? 255 : 3));
    const predict = new Int32Array(B * h * w).fill(3);
    const emb = tf.tidy(() => {
      const x = tf.randomNormal([B, h, w, 4], 0, 1, 'float32', 5);
      return tf.div(x, tf.norm(x, 'euclidean', 3, true)) as tf.Tensor4D;
    });
    const exact = pixelContrast({ embedding: emb, labels, labelShape: [B, H, W], predict, perms: rngFor(2), ...pixelContrastMode('code-exact') });
    assert.deepEqual(Array.from(exact.sample.classOfAnchor), [3, 255]);
    const box = { y1: 0, y2: 16, x1: 16, x2: 32 };
    const fixed = pixelContrast({ embedding: emb, labels, labelShape: [B, H, W], predict, perms: rngFor(2), ...pixelContrastMode('fixed', box) });
    assert.deepEqual(Array.from(fixed.sample.classOfAnchor), [3]);
    assert.equal(fixed.sample.viewsPerAnchor, 100);
    const withLeft = pixelContrast({
      embedding: emb,
      labels,
      labelShape: [B, H, W],
      predict,
      perms: rngFor(2),
      ...pixelContrastMode('fixed', { y1: 0, y2: 16, x1: 0, x2: 16 }),
    });
    assert.equal(withLeft.sample.numAnchors, 0, 'a crop of only 255 has no class in fixed mode');
    assert.throws(() => pixelContrastMode('fixed'));
    tf.dispose([emb, exact.loss, fixed.loss, withLeft.loss]);
  });
});
