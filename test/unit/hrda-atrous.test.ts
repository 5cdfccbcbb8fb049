// The space-to-batch dilated depthwise conv used by the sep-ASPP: same values as TF.js's
// own dilated depthwiseConv2d (forward), and the same gradients as an independent
// "sum of shifted taps" formulation (TF.js cannot differentiate dilated convs itself).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';
import { atrousDepthwiseConv2d } from '../../src/model/heads/atrous-depthwise.js';

before(async () => {
  await useTestBackend();
});

/** Reference: Σ_{ky,kx} w[ky,kx,c] · x_pad[y + d·ky, x + d·kx, c] from pads and slices. */
function tapsReference(x: tf.Tensor4D, w: tf.Tensor4D, d: number, p: number): tf.Tensor4D {
  const [, h, wd] = x.shape;
  const k = w.shape[0];
  const outH = h + 2 * p - d * (k - 1);
  const outW = wd + 2 * p - d * (k - 1);
  const xp = tf.pad(x, [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ]);
  let acc: tf.Tensor4D | null = null;
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const tap = tf.slice(xp, [0, d * ky, d * kx, 0], [-1, outH, outW, -1]);
      const wt = tf.reshape(tf.slice(w, [ky, kx, 0, 0], [1, 1, -1, 1]), [1, 1, 1, -1]);
      const term = tf.mul(tap, wt) as tf.Tensor4D;
      acc = acc ? (tf.add(acc, term) as tf.Tensor4D) : term;
    }
  }
  return acc!;
}

const CASES: Array<{ h: number; w: number; d: number }> = [
  { h: 16, w: 16, d: 6 },
  { h: 9, w: 13, d: 6 },
  { h: 5, w: 7, d: 12 },
  { h: 2, w: 3, d: 18 },
  { h: 1, w: 1, d: 18 },
  { h: 8, w: 8, d: 1 },
];

for (const { h, w, d } of CASES) {
  test(`atrous depthwise ${h}×${w}, dilation ${d}: forward and gradients`, async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, h, w, 5], 0, 1, 'float32', 11) as tf.Tensor4D;
        const kern = tf.randomNormal([3, 3, 5, 1], 0, 1, 'float32', 12) as tf.Tensor4D;
        const r = tf.randomNormal([2, h, w, 5], 0, 1, 'float32', 13);
        const got = atrousDepthwiseConv2d(x, kern, { dilation: d, padding: d });
        assert.deepEqual(got.shape, [2, h, w, 5]);
        const native = tf.depthwiseConv2d(x, kern, 1, [[0, 0], [d, d], [d, d], [0, 0]], 'NHWC', d);
        assertClose(`forward vs tf dilated depthwise`, got, native, 1e-5);
        assertClose(`forward vs taps`, got, tapsReference(x, kern, d, d), 1e-5);
        const loss = (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), r));
        const [gx, gw] = tf.grads(loss((a, b) => atrousDepthwiseConv2d(a, b, { dilation: d, padding: d })))([x, kern]);
        const [rx, rw] = tf.grads(loss((a, b) => tapsReference(a, b, d, d)))([x, kern]);
        assertClose('d/dx', gx, rx, 1e-4);
        assertClose('d/dw', gw, rw, 1e-4);
      });
    });
  });
}
