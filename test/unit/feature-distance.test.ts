// downscale_label_ratio rules on hand-built label maps, and maskedFeatDist's value, gradient,
// empty-mask and zero-distance behaviour against a float64 reference written here.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { downscaleLabelRatioArray, LabelDownscaleError } from '../../src/model/losses/label-downscale.js';
import { FeatureDistanceError, featureDistanceLoss, maskedFeatDist, thingMask } from '../../src/model/losses/feature-distance.js';

before(async () => {
  await useTestBackend();
});

/** A [1,H,W] label map where each k×k cell is filled from `cells[cy][cx]` (a list of k² values). */
function cellMap(cells: number[][][], k: number): { data: Int32Array; shape: [number, number, number] } {
  const oh = cells.length;
  const ow = cells[0].length;
  const w = ow * k;
  const data = new Int32Array(oh * k * w);
  cells.forEach((row, cy) =>
    row.forEach((vals, cx) => vals.forEach((v, j) => (data[(cy * k + Math.floor(j / k)) * w + cx * k + (j % k)] = v))),
  );
  return { data, shape: [1, oh * k, w] };
}

describe('downscaleLabelRatio', () => {
  const o = { scaleFactor: 2, minRatio: 0.75, numClasses: 19 };

  it('majority ≥ minRatio keeps the class; below → 255; ignore majority → 255; ties → first class', () => {
    const m = cellMap(
      [
        [
          [3, 3, 3, 5], // 3 at 0.75 → 3
          [3, 3, 5, 5], // tie 0.5/0.5 → first max = 3, but 0.5 < 0.75 → 255
          [255, 255, 255, 7], // substitute class wins → 255
          [18, 18, 18, 18], // → 18
        ],
      ],
      2,
    );
    const r = downscaleLabelRatioArray(m.data, m.shape, o);
    assert.deepEqual(Array.from(r.data), [3, 255, 255, 18]);
    const loose = downscaleLabelRatioArray(m.data, m.shape, { ...o, minRatio: 0.5 });
    assert.deepEqual(Array.from(loose.data), [3, 3, 255, 18], 'ties resolve to the lower class id');
  });

  it('uses floor-sized output like avg_pool2d (trailing rows/cols dropped)', () => {
    const data = new Int32Array(5 * 7).fill(4);
    const r = downscaleLabelRatioArray(data, [1, 5, 7], o);
    assert.deepEqual(r.shape, [1, 2, 3]);
    assert.ok(r.data.every((v) => v === 4));
  });

  it('rejects labels that are neither classes nor ignore, and scale factors ≤ 1', () => {
    assert.throws(() => downscaleLabelRatioArray(Int32Array.from([0, 1, 19, 0]), [1, 2, 2], o), LabelDownscaleError);
    assert.throws(() => downscaleLabelRatioArray(new Int32Array(4), [1, 2, 2], { ...o, scaleFactor: 1 }), LabelDownscaleError);
  });

  it('thingMask takes the scale factor from the widths (non-square) and checks the grid', () => {
    const labels = new Int32Array(2 * 24 * 40).fill(13); // car everywhere
    const tm = thingMask(labels, [2, 24, 40], [3, 5]);
    assert.equal(tm.scaleFactor, 8);
    assert.ok(tm.mask.every((v) => v === 1));
    assert.throws(() => thingMask(labels, [2, 24, 40], [4, 5]), FeatureDistanceError);
  });
});

describe('maskedFeatDist', () => {
  function features(seed: number, shape: [number, number, number, number]): Float32Array {
    const rng = rngFor(seed, 'fd-unit');
    return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  }

  it('value and gradient match the float64 reference (mean of channel L2 norms over masked cells)', async () => {
    const shape: [number, number, number, number] = [2, 3, 2, 5];
    const s = features(1, shape);
    const im = features(2, shape);
    const mask = Int32Array.from([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0]);
    const count = mask.reduce((a, b) => a + b, 0);
    let mean = 0;
    const grad = new Float64Array(s.length);
    mask.forEach((m, cell) => {
      if (!m) return;
      let sq = 0;
      for (let c = 0; c < 5; c++) sq += (s[cell * 5 + c] - im[cell * 5 + c]) ** 2;
      const n = Math.sqrt(sq);
      mean += n / count;
      for (let c = 0; c < 5; c++) grad[cell * 5 + c] = (s[cell * 5 + c] - im[cell * 5 + c]) / n / count;
    });
    await withLeakCheck(() => {
      tf.tidy(() => {
        const fS = tf.tensor4d(s, shape);
        const fI = tf.tensor4d(im, shape);
        const m = tf.tensor3d(mask, [2, 3, 2], 'int32');
        const { value, grad: gS } = tf.valueAndGrad((x: tf.Tensor) => maskedFeatDist(x as tf.Tensor4D, fI, m))(fS);
        assert.ok(Math.abs(value.dataSync()[0] - mean) < 1e-5 * mean);
        const g = gS.dataSync();
        grad.forEach((v, i) => assert.ok(Math.abs(g[i] - v) < 1e-6, `grad[${i}] ${g[i]} vs ${v}`));
      });
    });
  });

  it('empty mask → 0 (not NaN) with zero, finite gradients', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const fS = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
        const fI = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
        const empty = tf.zeros([1, 2, 2], 'int32') as tf.Tensor3D;
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => maskedFeatDist(x as tf.Tensor4D, fI, empty))(fS);
        assert.equal(value.dataSync()[0], 0);
        assert.ok(grad.dataSync().every((v) => v === 0));
        // Through the label path too: no thing class anywhere (road only).
        const labels = tf.zeros([1, 8, 8], 'int32') as tf.Tensor3D;
        const r = featureDistanceLoss(fS, fI, labels);
        assert.equal(r.loss.dataSync()[0], 0);
      });
    });
  });

  it('identical features on masked cells give 0 and a zero (not NaN) gradient, like torch.norm', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const f = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
        const mask = tf.ones([1, 2, 2], 'int32') as tf.Tensor3D;
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => maskedFeatDist(x as tf.Tensor4D, f, mask))(tf.clone(f));
        assert.equal(value.dataSync()[0], 0);
        assert.ok(grad.dataSync().every((v) => v === 0));
      });
    });
  });
});
