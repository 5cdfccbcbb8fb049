// Gradient accumulation over micro-batches equals the full-batch gradient of a mean loss.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradAccumulator, GradAccumulatorError } from '../../src/model/optim/grad-accumulator.js';
import { rngFor } from '../../src/common/random.js';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

before(async () => {
  await useTestBackend();
});

function randTensor(seed: string, shape: number[]): tf.Tensor {
  const rng = rngFor(11, seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}

test('k micro-batches with weight size/total equal one full batch (linear layer + mean loss)', async () => {
  await withLeakCheck(() => {
    const w0 = randTensor('w', [4, 3]);
    const b0 = randTensor('b', [3]);
    const w = tf.variable(w0, true);
    const b = tf.variable(b0, true);
    tf.dispose([w0, b0]);
    const x = randTensor('x', [8, 4]);
    const t = randTensor('t', [8, 3]);
    const lossOn = (xs: tf.Tensor, ts: tf.Tensor) => () => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(xs as tf.Tensor2D, w), b), ts))) as tf.Scalar;
    const full = tf.variableGrads(lossOn(x, t), [w, b]);

    for (const split of [
      [2, 2, 2, 2],
      [3, 5],
      [1, 7],
    ]) {
      const acc = new GradAccumulator();
      let start = 0;
      for (const size of split) {
        const xs = tf.slice(x, [start, 0], [size, -1]);
        const ts = tf.slice(t, [start, 0], [size, -1]);
        const micro = tf.variableGrads(lossOn(xs, ts), [w, b]);
        acc.add(micro.grads, size / 8);
        tf.dispose([xs, ts, micro.value, ...Object.values(micro.grads)]);
        start += size;
      }
      assert.equal(acc.count, split.length);
      const sums = acc.take();
      assert.equal(acc.count, 0);
      assertClose(`dW split ${split}`, sums.get(w.name)!, full.grads[w.name], 1e-6);
      assertClose(`db split ${split}`, sums.get(b.name)!, full.grads[b.name], 1e-6);
      // not dividing by the micro-batch share would be wrong by a factor k: the test can fail
      const offIfUnscaled = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.mul(sums.get(w.name)!, split.length), full.grads[w.name]))).dataSync()[0]);
      assert.ok(offIfUnscaled > 1e-3);
      tf.dispose([...sums.values()]);
      acc.dispose();
    }
    tf.dispose([full.value, ...Object.values(full.grads), x, t, w, b]);
  });
});

test('variables missing from some micro-batches are summed where present; never-seen ones stay absent', async () => {
  await withLeakCheck(() => {
    const acc = new GradAccumulator();
    const a1 = new Map([['a', tf.tensor1d([1, 2])]]);
    const a2 = new Map([
      ['a', tf.tensor1d([3, 4])],
      ['b', tf.tensor1d([5])],
    ]);
    acc.add(a1);
    acc.add(a2, 0.5);
    const out = acc.take();
    assert.deepEqual(Array.from(out.get('a')!.dataSync()), [2.5, 4]);
    assert.deepEqual(Array.from(out.get('b')!.dataSync()), [2.5]);
    assert.equal(out.has('c'), false);
    // the caller's tensors are untouched and still owned by the caller
    assert.deepEqual(Array.from(a1.get('a')!.dataSync()), [1, 2]);
    const bad = new Map([['a', tf.zeros([3])]]);
    acc.add(a1);
    assert.throws(() => acc.add(bad), GradAccumulatorError, 'shape change between micro-batches');
    assert.throws(() => acc.add(a1, Number.NaN), GradAccumulatorError);
    acc.reset();
    assert.equal(acc.take().size, 0);
    tf.dispose([...a1.values(), ...a2.values(), ...bad.values(), ...out.values()]);
    acc.dispose();
  });
});
