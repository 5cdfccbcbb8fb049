// mmseg cross-entropy conventions checked against an independent float64 reference written
// here: ignore → 0, weights, mean over ALL pixels, gradient (softmax − onehot)·w/N, stability.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { cropMap, crossEntropyLoss, crossEntropyMap, hrdaSegLoss, segAccuracy, SegLossShapeError } from '../../src/model/losses/cross-entropy.js';

before(async () => {
  await useTestBackend();
});

interface Case {
  b: number;
  h: number;
  w: number;
  c: number;
  logits: Float32Array;
  labels: Int32Array;
  weight: Float32Array;
}

function makeCase(seed: number, b: number, h: number, w: number, c: number, scale = 5): Case {
  const rng = rngFor(seed, 'ce-unit');
  const n = b * h * w;
  const logits = Float32Array.from({ length: n * c }, () => scale * rng.normal());
  const labels = Int32Array.from({ length: n }, () => (rng.random() < 0.2 ? 255 : rng.randint(0, c)));
  const weight = Float32Array.from({ length: n }, () => rng.random());
  return { b, h, w, c, logits, labels, weight };
}

/** float64 reference: per-pixel CE and softmax. */
function reference(k: Case): { map: number[]; soft: number[][] } {
  const map: number[] = [];
  const soft: number[][] = [];
  for (let p = 0; p < k.labels.length; p++) {
    const row = Array.from(k.logits.subarray(p * k.c, (p + 1) * k.c));
    const mx = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
    soft.push(row.map((v) => Math.exp(v - mx) / z));
    const y = k.labels[p];
    map.push(y === 255 ? 0 : -(row[y] - mx - Math.log(z)));
  }
  return { map, soft };
}

function tensors(k: Case) {
  return {
    logits: tf.tensor4d(k.logits, [k.b, k.h, k.w, k.c]),
    labels: tf.tensor3d(k.labels, [k.b, k.h, k.w], 'int32'),
    weight: tf.tensor3d(k.weight, [k.b, k.h, k.w]),
  };
}

describe('cross-entropy (mmseg convention)', () => {
  it('map is 0 at ignored pixels; loss is the mean over ALL pixels, weighted or not', async () => {
    await withLeakCheck(() => {
      const k = makeCase(1, 2, 5, 7, 19);
      const ref = reference(k);
      tf.tidy(() => {
        const t = tensors(k);
        const map = crossEntropyMap(t.logits, t.labels).dataSync();
        ref.map.forEach((v, i) => assert.ok(Math.abs(map[i] - v) <= 1e-5 * Math.max(1, v), `pixel ${i}: ${map[i]} vs ${v}`));
        k.labels.forEach((y, i) => y === 255 && assert.equal(map[i], 0));
        const n = k.labels.length;
        const plain = ref.map.reduce((s, v) => s + v, 0) / n;
        const weighted = ref.map.reduce((s, v, i) => s + v * k.weight[i], 0) / n;
        assert.ok(Math.abs(crossEntropyLoss(t.logits, t.labels).dataSync()[0] - plain) < 1e-5 * plain);
        assert.ok(Math.abs(crossEntropyLoss(t.logits, t.labels, t.weight).dataSync()[0] - weighted) < 1e-5 * weighted);
      });
    });
  });

  it('gradient w.r.t. logits is (softmax − onehot)·w/N, zero at ignored pixels', async () => {
    await withLeakCheck(() => {
      const k = makeCase(2, 1, 3, 4, 6);
      const ref = reference(k);
      const n = k.labels.length;
      tf.tidy(() => {
        const t = tensors(k);
        const grad = tf.grad((x: tf.Tensor) => crossEntropyLoss(x as tf.Tensor4D, t.labels, t.weight))(t.logits).dataSync();
        for (let p = 0; p < n; p++) {
          for (let j = 0; j < k.c; j++) {
            const y = k.labels[p];
            const expected = y === 255 ? 0 : ((ref.soft[p][j] - (j === y ? 1 : 0)) * k.weight[p]) / n;
            assert.ok(Math.abs(grad[p * k.c + j] - expected) < 1e-6, `grad[${p},${j}] ${grad[p * k.c + j]} vs ${expected}`);
          }
        }
      });
    });
  });

  it('stays finite for logits of magnitude ~100', async () => {
    await withLeakCheck(() => {
      const k = makeCase(3, 1, 4, 4, 19, 100);
      tf.tidy(() => {
        const t = tensors(k);
        const loss = crossEntropyLoss(t.logits, t.labels).dataSync()[0];
        const g = tf.grad((x: tf.Tensor) => crossEntropyLoss(x as tf.Tensor4D, t.labels))(t.logits).dataSync();
        assert.ok(Number.isFinite(loss) && loss > 0);
        assert.ok(g.every(Number.isFinite));
      });
    });
  });

  it('accuracy counts ignored pixels in the denominator', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        // 4 pixels, 2 classes: argmax = [0,1,1,0]; labels [0,1,255,1] → 2 correct of 4 = 50 %.
        const logits = tf.tensor4d([2, 1, 0, 3, 0, 5, 4, 1], [1, 2, 2, 2]);
        const labels = tf.tensor3d([0, 1, 255, 1], [1, 2, 2], 'int32');
        assert.equal(segAccuracy(logits, labels).dataSync()[0], 50);
      });
    });
  });

  it('HRDA split: (1−λ)·CE(fused) + λ·CE(hr, crop) with the crop applied to labels and weights', async () => {
    await withLeakCheck(() => {
      const full = makeCase(4, 2, 8, 12, 5);
      const fullRef = reference(full);
      tf.tidy(() => {
        const t = tensors(full);
        // Detail logits at the crop size, so no resize is involved and the reference is direct.
        const box = [2, 6, 4, 10] as const;
        const hr = makeCase(5, 2, 4, 6, 5);
        const r = hrdaSegLoss({ fused: t.logits, hrSeg: tf.tensor4d(hr.logits, [2, 4, 6, 5]), labels: t.labels, weight: t.weight, cropBox: box, hrLossWeight: 0.25 });
        const fusedRef = fullRef.map.reduce((s, v, i) => s + v * full.weight[i], 0) / full.labels.length;
        // Reference for the crop: same crop of labels/weights, CE of hr logits.
        const crop: Case = { ...hr, labels: new Int32Array(48), weight: new Float32Array(48) };
        for (let n = 0; n < 2; n++)
          for (let y = 0; y < 4; y++)
            for (let x = 0; x < 6; x++) {
              const src = (n * 8 + y + box[0]) * 12 + x + box[2];
              crop.labels[(n * 4 + y) * 6 + x] = full.labels[src];
              crop.weight[(n * 4 + y) * 6 + x] = full.weight[src];
            }
        const hrRef = reference(crop).map.reduce((s, v, i) => s + v * crop.weight[i], 0) / 48;
        assert.ok(Math.abs(r.fusedLoss.dataSync()[0] - 0.75 * fusedRef) < 1e-5);
        assert.ok(Math.abs(r.hrLoss.dataSync()[0] - 0.25 * hrRef) < 1e-5);
        assert.ok(Math.abs(r.total.dataSync()[0] - (0.75 * fusedRef + 0.25 * hrRef)) < 1e-5);
      });
    });
  });

  it('hrdaSegLoss works inside tf.variableGrads (low-res logits, resize path)', async () => {
    await withLeakCheck(() => {
      const fused = tf.tidy(() => tf.variable(tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 7))) as tf.Variable<tf.Rank.R4>;
      const hr = tf.tidy(() => tf.variable(tf.randomNormal([1, 2, 2, 3], 0, 1, 'float32', 8))) as tf.Variable<tf.Rank.R4>;
      const labels = tf.tensor3d(Int32Array.from({ length: 64 }, (_, i) => (i % 7 === 0 ? 255 : i % 3)), [1, 8, 8], 'int32');
      const { value, grads } = tf.variableGrads(() => hrdaSegLoss({ fused, hrSeg: hr, labels, cropBox: [0, 4, 4, 8] }).total, [fused, hr]);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      for (const g of Object.values(grads)) {
        const d = g.dataSync();
        assert.ok(d.every(Number.isFinite) && d.some((v) => v !== 0));
      }
      tf.dispose([value, ...Object.values(grads), fused, hr, labels]);
    });
  });

  it('rejects mismatched shapes and out-of-range crop boxes with named errors', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const logits = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
        assert.throws(() => crossEntropyMap(logits, tf.zeros([1, 4, 5], 'int32') as tf.Tensor3D), SegLossShapeError);
        assert.throws(() => crossEntropyMap(logits, tf.zeros([1, 4, 4]) as tf.Tensor3D), SegLossShapeError);
        assert.throws(() => cropMap(tf.zeros([1, 4, 4]) as tf.Tensor3D, [0, 5, 0, 2]), SegLossShapeError);
      });
    });
  });
});
