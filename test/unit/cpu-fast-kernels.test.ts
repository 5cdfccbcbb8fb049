import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';
import { registerFastCpuKernels } from '../../src/model/cpu/fast-kernels.js';
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
  registerFastCpuKernels();
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

/** dW by explicit taps: for each (kh,kw), X_tap[B·OH·OW, Cin]ᵀ · dy[B·OH·OW, Cout]. */
function tapFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, oh, ow, co] = dy.shape;
    const ci = x.shape[3];
    const xp = tf.pad(x, [[0, 0], [pad, pad + stride], [pad, pad + stride], [0, 0]]);
    const dy2 = tf.reshape(dy, [-1, co]) as tf.Tensor2D;
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const win = tf.stridedSlice(xp, [0, i, j, 0], [x.shape[0], i + oh * stride, j + ow * stride, ci], [1, stride, stride, 1]);
        taps.push(tf.matMul(tf.reshape(win, [-1, ci]) as tf.Tensor2D, dy2, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), [k, k, ci, co]) as tf.Tensor4D;
  });
}

test('fast cpu Conv2DBackpropFilter and UnsortedSegmentSum match independent references', async () => {
  await useTestBackend('cpu');
  registerFastCpuKernels();
  const rng = rngFor(3, 'fast-conv-test');
  await withLeakCheck(() => {
    for (const [k, stride, pad, h, w] of [
      [3, 1, 1, 7, 9],
      [3, 2, 1, 8, 5],
      [7, 4, 3, 16, 12],
      [1, 1, 0, 4, 6],
    ]) {
      tf.tidy(() => {
        const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', rng.seed31()) as tf.Tensor4D;
        const wt = tf.randomNormal([k, k, 3, 5], 0, 1, 'float32', rng.seed31()) as tf.Tensor4D;
        const y = tf.conv2d(x, wt, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', rng.seed31()) as tf.Tensor4D;
        const got = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), dy)))(wt);
        const want = tapFilterGrad(x, dy, k, stride, pad);
        const d = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0];
        assert.ok(d < 1e-4, `k${k} s${stride} p${pad}: max|Δ| ${d}`);
      });
    }
    tf.tidy(() => {
      const x = tf.randomNormal([6, 4], 0, 1, 'float32', rng.seed31());
      const idx = tf.tensor1d([2, 0, 2, 5, 1, 0], 'int32');
      const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), x)))(tf.zeros([7, 4]));
      const xs = x.arraySync() as number[][];
      const want = Array.from({ length: 7 }, () => [0, 0, 0, 0]);
      [2, 0, 2, 5, 1, 0].forEach((s, i) => xs[i].forEach((v, j) => (want[s][j] += v)));
      const d = tf.max(tf.abs(tf.sub(got, tf.tensor2d(want)))).dataSync()[0];
      assert.ok(d < 1e-6, `segment sum max|Δ| ${d}`);
    });
  });
});
