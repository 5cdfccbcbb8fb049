// The chunked negative statistics (hand-written gradient, online rescaling) against a
// dense formulation differentiated by TF.js autodiff: values and gradients, with chunks
// smaller than the window, a window smaller than the bank, and no keys at all.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { negativeStatistics, NegativeKeysError } from '../../src/model/losses/contrast-negatives.js';

before(async () => {
  await useTestBackend();
});

function unitRows(seed: number, n: number, d: number): tf.Tensor2D {
  const rng = rngFor(seed, 'rows');
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  return tf.tidy(() => {
    const t = tf.tensor2d(x, [n, d]);
    return tf.div(t, tf.norm(t, 'euclidean', 1, true));
  });
}

/** tf.variable shares the initial tensor's data but leaves that tensor alive: dispose it. */
function variableOf<R extends tf.Rank>(t: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function labels(seed: number, n: number, classes: number): Int32Array {
  const rng = rngFor(seed, 'labels');
  return Int32Array.from({ length: n }, () => rng.randint(0, classes));
}

/** The same quantities written densely; autodiff provides the reference gradient. */
function dense(a: tf.Tensor2D, pos: tf.Tensor1D, al: Int32Array, keys: tf.Tensor2D, kl: Int32Array, tau: number, window: number): { shift: tf.Tensor1D; negSum: tf.Tensor1D } {
  const N = keys.shape[0];
  const sim = tf.div(tf.matMul(a, keys, false, true), tau);
  const W = Math.min(window, N);
  const wmax = W > 0 ? tf.max(tf.slice(sim, [0, 0], [-1, W]), 1) : tf.fill([a.shape[0]], -Infinity);
  const shift = tf.maximum(pos, wmax);
  const mask = tf.cast(tf.notEqual(tf.tensor2d(kl, [1, N], 'int32'), tf.tensor2d(al, [al.length, 1], 'int32')), 'float32');
  const negSum = tf.sum(tf.mul(tf.exp(tf.sub(sim, tf.expandDims(shift, 1))), mask), 1);
  return { shift: shift as tf.Tensor1D, negSum: negSum as tf.Tensor1D };
}

const cases = [
  { name: 'one chunk, window covers all', n: 7, N: 20, window: Infinity, block: 1 << 20 },
  { name: 'many chunks, window inside the bank', n: 9, N: 50, window: 17, block: 9 * 6 },
  { name: 'chunk boundary on the window', n: 5, N: 30, window: 10, block: 5 * 5 },
];

for (const c of cases) {
  test(`negativeStatistics: ${c.name} — values and gradients match dense autodiff`, async () => {
    await withLeakCheck(() => {
      const tau = 0.1;
      const a = variableOf(unitRows(1, c.n, 6));
      const p = variableOf(tf.tidy(() => tf.mul(tf.sum(tf.mul(unitRows(1, c.n, 6), unitRows(2, c.n, 6)), 1), 1 / tau) as tf.Tensor1D));
      const keys = unitRows(3, c.N, 6);
      const al = labels(4, c.n, 3);
      const kl = labels(5, c.N, 3);
      // a combination that uses both outputs, so both gradient paths are exercised
      const objective = (s: { shift: tf.Tensor1D; negSum: tf.Tensor1D }) =>
        tf.sum(tf.add(tf.mul(s.shift, 0.3), tf.log(tf.add(s.negSum, 1)))) as tf.Scalar;
      const got = tf.variableGrads(
        () => objective(negativeStatistics(a, p, al, { features: keys, labels: kl }, { temperature: tau, window: c.window, blockElements: c.block })),
        [a, p],
      );
      const want = tf.variableGrads(() => objective(dense(a, p, al, keys, kl, tau, c.window)), [a, p]);
      assertClose('objective', got.value, want.value, 1e-5, 1e-5);
      assertClose('d anchors', got.grads[a.name], want.grads[a.name], 1e-5, 1e-4);
      assertClose('d pos', got.grads[p.name], want.grads[p.name], 1e-5, 1e-4);
      tf.tidy(() => {
        const s = negativeStatistics(a, p, al, { features: keys, labels: kl }, { temperature: tau, window: c.window, blockElements: c.block });
        const d = dense(a, p, al, keys, kl, tau, c.window);
        assertClose('shift', s.shift, d.shift, 1e-6);
        assertClose('negSum', s.negSum, d.negSum, 1e-6, 1e-5);
      });
      tf.dispose([a, p, keys, got.value, want.value, ...Object.values(got.grads), ...Object.values(want.grads)]);
    });
  });
}

test('negativeStatistics: no keys gives shift = pos and negSum = 0, gradient only to pos', async () => {
  await withLeakCheck(() => {
    const a = variableOf(unitRows(7, 4, 3));
    const p = variableOf(tf.tensor1d([0.5, -1, 2, 0]));
    const keys = { features: tf.zeros([0, 3]) as tf.Tensor2D, labels: new Int32Array(0) };
    const { value, grads } = tf.variableGrads(() => {
      const s = negativeStatistics(a, p, new Int32Array(4), keys, { temperature: 0.1, window: 8000 });
      return tf.sum(tf.add(s.shift, s.negSum)) as tf.Scalar;
    }, [a, p]);
    assert.ok(Math.abs(value.dataSync()[0] - 1.5) < 1e-6);
    assert.deepEqual(Array.from(grads[p.name].dataSync()), [1, 1, 1, 1]);
    assert.ok(!grads[a.name] || grads[a.name].dataSync().every((x) => x === 0));
    tf.dispose([a, p, keys.features, value, ...Object.values(grads)]);
  });
});

test('negativeStatistics: mismatched inputs are named errors', async () => {
  await withLeakCheck(() => {
    const a = tf.zeros([3, 4]) as tf.Tensor2D;
    const p = tf.zeros([3]) as tf.Tensor1D;
    const k = tf.zeros([5, 4]) as tf.Tensor2D;
    assert.throws(() => negativeStatistics(a, p, new Int32Array(2), { features: k, labels: new Int32Array(5) }, { temperature: 1, window: 1 }), NegativeKeysError);
    assert.throws(() => negativeStatistics(a, p, new Int32Array(3), { features: k, labels: new Int32Array(4) }, { temperature: 1, window: 1 }), NegativeKeysError);
    tf.dispose([a, p, k]);
  });
});
