// FIFO semantics of the negative bank: dacs.py's step_count logic keeps step_save + 1 steps.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { FeatureBank, FeatureBankError } from '../../src/model/losses/feature-bank.js';

before(async () => {
  await useTestBackend();
});

/** dacs.py's bookkeeping, transcribed as a list of step ids. */
function originalBank(steps: number, stepSave: number): number[][] {
  let bank: number[] = [];
  let count = 0;
  const history: number[][] = [];
  for (let t = 0; t < steps; t++) {
    bank.push(t);
    if (count > stepSave) bank = bank.slice(1);
    else count++;
    history.push([...bank]);
  }
  return history;
}

test('FeatureBank keeps the same steps as the original bookkeeping', async () => {
  for (const stepSave of [0, 1, 2, 4]) {
    const bank = new FeatureBank(stepSave + 1);
    await withLeakCheck(() => {
      const expected = originalBank(9, stepSave);
      for (let t = 0; t < 9; t++) {
        const rows = 3;
        const feats = tf.fill([rows, 2], t) as tf.Tensor2D;
        bank.push(feats, new Int32Array(rows).fill(100 + t));
        feats.dispose();
        const snap = bank.snapshot();
        const stepsInBank = Array.from(snap.features.dataSync().filter((_, i) => i % (2 * rows) === 0));
        assert.deepEqual(stepsInBank, expected[t], `stepSave ${stepSave}, step ${t}`);
        assert.deepEqual(
          Array.from(snap.labels),
          expected[t].flatMap((s) => [100 + s, 100 + s, 100 + s]),
        );
        assert.equal(bank.rows, rows * expected[t].length);
        snap.features.dispose();
      }
      bank.dispose();
    });
  }
});

test('FeatureBank keeps its own copy and rejects inconsistent entries', async () => {
  await withLeakCheck(() => {
    const bank = new FeatureBank(2);
    tf.tidy(() => bank.push(tf.ones([2, 4]) as tf.Tensor2D, new Int32Array([1, 2])));
    const snap = bank.snapshot();
    assert.deepEqual(snap.features.shape, [2, 4], 'survives the tidy it was pushed in');
    snap.features.dispose();
    const bad = tf.ones([2, 3]) as tf.Tensor2D;
    assert.throws(() => bank.push(bad, new Int32Array([1, 2])), FeatureBankError);
    assert.throws(() => bank.push(bad, new Int32Array([1])), FeatureBankError);
    bad.dispose();
    bank.clear();
    assert.throws(() => bank.snapshot(), FeatureBankError);
    assert.throws(() => new FeatureBank(0), FeatureBankError);
  });
});
