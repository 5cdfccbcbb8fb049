// batchedMatMul (attention's Q·Kᵀ and A·V) must equal tf.matMul in value and gradient,
// both as one batched call and split into batch-1 calls (the wasm fast path).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from '../../src/model/mit/batched-matmul.js';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

for (const splitGroups of [false, true]) {
  test(`batchedMatMul equals tf.matMul in value and gradients (splitGroups=${splitGroups})`, async () => {
    await useTestBackend();
    await withLeakCheck(() =>
      tf.tidy(() => {
        const a = tf.randomNormal([3, 5, 4], 0, 1, 'float32', 1) as tf.Tensor3D;
        const b = tf.randomNormal([3, 4, 6], 0, 1, 'float32', 2) as tf.Tensor3D;
        const w = tf.randomNormal([3, 5, 6], 0, 1, 'float32', 3);
        const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(batchedMatMul(x as tf.Tensor3D, y as tf.Tensor3D, { splitGroups }), w)));
        const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D), w)));
        assertClose('value', batchedMatMul(a, b, { splitGroups }), tf.matMul(a, b), 1e-5);
        const [ga, gb] = ours([a, b]);
        const [ra, rb] = ref([a, b]);
        assertClose('dA', ga, ra, 1e-5);
        assertClose('dB', gb, rb, 1e-5);
      }),
    );
  });
}

test('batchedMatMul rejects mismatched shapes with a message naming them', () => {
  tf.tidy(() => {
    assert.throws(() => batchedMatMul(tf.zeros([2, 3, 4]) as tf.Tensor3D, tf.zeros([2, 5, 6]) as tf.Tensor3D), /\[2,3,4\] × \[2,5,6\]/);
  });
});
