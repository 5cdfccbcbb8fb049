import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';
import { registerFastCpuSlice } from '../../src/model/cpu/fast-slice.js';
import { rngFor } from '../../src/common/random.js';

/** Element-by-element reference slice of a row-major array. */
function naiveSlice(vals: Float32Array, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const n = size.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let off = 0;
    for (let a = shape.length - 1; a >= 0; a--) {
      const idx = rem % size[a];
      rem = Math.floor(rem / size[a]);
      off += (begin[a] + idx) * strides[a];
    }
    out.push(vals[off]);
  }
  return out;
}

test('fast cpu Slice equals an element-wise reference on random shapes, incl. its gradient', async () => {
  await useTestBackend('cpu');
  registerFastCpuSlice();
  const rng = rngFor(7, 'fast-slice-test');
  await withLeakCheck(() => {
    for (let trial = 0; trial < 60; trial++) {
      const rank = rng.randint(1, 6);
      const shape = Array.from({ length: rank }, () => rng.randint(1, 6));
      const begin = shape.map((d) => rng.randint(0, d));
      const size = shape.map((d, i) => rng.randint(0, d - begin[i] + 1));
      const vals = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 1.5 - 3);
      const got = tf.tidy(() => Array.from(tf.slice(tf.tensor(vals, shape), begin, size).dataSync()));
      assert.deepEqual(got, naiveSlice(vals, shape, begin, size), `shape [${shape}] begin [${begin}] size [${size}]`);
    }
    const ints = tf.tidy(() => Array.from(tf.slice(tf.tensor([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32'), [0, 1], [2, 2]).dataSync()));
    assert.deepEqual(ints, [2, 3, 5, 6]);
    const g = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(tf.slice(x, [1], [2])))(tf.tensor1d([1, 2, 3, 4])).dataSync()));
    assert.deepEqual(g, [0, 1, 1, 0]);
  });
});
