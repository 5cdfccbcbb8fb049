// Pseudo-label weight: one batch-wide scalar (counted before masking), row masking, valid mask,
// float32 threshold comparison — against a float64 reference written here.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { PseudoLabelError, pseudoLabels } from '../../src/model/uda/pseudo-label.js';

before(async () => {
  await useTestBackend();
});

describe('pseudoLabels', () => {
  const [b, h, w, c] = [2, 6, 5, 4];
  const rng = rngFor(11, 'pseudo-unit');
  const logits = Float32Array.from({ length: b * h * w * c }, () => 6 * rng.normal());

  /** float64 reference labels, max probs and confident count. */
  function reference(threshold: number) {
    const label: number[] = [];
    const prob: number[] = [];
    for (let p = 0; p < b * h * w; p++) {
      const row = Array.from(logits.subarray(p * c, (p + 1) * c));
      const mx = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
      label.push(row.indexOf(mx));
      prob.push(1 / z);
    }
    return { label, prob, count: prob.filter((p) => p >= threshold).length };
  }

  it('label/prob/fraction; the weight is one scalar, then rows and the valid mask zero it', async () => {
    const ref = reference(0.968);
    const q = ref.count / (b * h * w);
    assert.ok(ref.count > 0 && ref.count < b * h * w, 'test data should straddle the threshold');
    const valid = Int32Array.from({ length: b * h * w }, (_, i) => (i % 3 === 0 ? 0 : 1));
    await withLeakCheck(() => {
      tf.tidy(() => {
        const r = pseudoLabels(tf.tensor4d(logits, [b, h, w, c]), { ignoreTop: 1, ignoreBottom: 2, validMask: tf.tensor3d(valid, [b, h, w], 'int32') });
        assert.deepEqual(Array.from(r.label.dataSync()), ref.label);
        r.prob.dataSync().forEach((p, i) => assert.ok(Math.abs(p - ref.prob[i]) < 1e-6));
        assert.equal(r.fractionConfident, q);
        const wt = r.weight.dataSync();
        for (let n = 0; n < b; n++)
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) {
              const i = (n * h + y) * w + x;
              const rowKept = y >= 1 && y < h - 2;
              assert.equal(wt[i], rowKept && valid[i] ? Math.fround(q) : 0, `weight at ${n},${y},${x}`);
            }
      });
    });
  });

  it('counts p ≥ threshold inclusively (a pixel exactly at the threshold is confident)', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const x = tf.tensor4d([3.4, 0, 0.5, 0], [1, 1, 2, 2]);
        const p = tf.max(tf.softmax(x, -1), -1).dataSync()[0];
        assert.equal(pseudoLabels(x, { threshold: p }).fractionConfident, 0.5);
        const nextUp = p + 2 ** -24; // the next float32 above p (p in [0.5, 1))
        assert.equal(pseudoLabels(x, { threshold: nextUp }).fractionConfident, 0);
      });
    });
  });

  it('rejects a valid mask of the wrong shape and negative row counts', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
        assert.throws(() => pseudoLabels(x, { validMask: tf.ones([1, 4, 3]) as tf.Tensor3D }), PseudoLabelError);
        assert.throws(() => pseudoLabels(x, { ignoreTop: -1 }), PseudoLabelError);
      });
    });
  });
});
