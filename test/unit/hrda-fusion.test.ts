// HRDA fusion against an independent reference: attention masked to the crop box on the
// LR grid (box / (os/lr_scale)), (1−att)·lr, ×2 upsampling by tf.image.resizeBilinear with
// half-pixel centres (= PyTorch align_corners=False at an integer factor), HR crop logits
// pasted at box / os — checked on non-square grids and an off-centre box.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';
import { hrdaFuse } from '../../src/model/hrda/fusion.js';
import { CropBoxError, type CropBox } from '../../src/model/hrda/crop-box.js';

before(async () => {
  await useTestBackend();
});

const GEOM = { os: 4, lrScale: 0.5, hrScale: 1 };

function reference(lr: tf.Tensor4D, att: tf.Tensor4D, hr: tf.Tensor4D, box: CropBox | null) {
  const [b, h, w, k] = lr.shape;
  const a = att.bufferSync();
  if (box) {
    const [y1, y2, x1, x2] = box.map((v) => Math.floor(v / 8));
    for (let n = 0; n < b; n++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < att.shape[3]; c++) if (!(y >= y1 && y < y2 && x >= x1 && x < x2)) a.set(0, n, y, x, c);
  }
  const attM = a.toTensor() as tf.Tensor4D;
  const lrScaled = tf.mul(tf.sub(1, attM), lr) as tf.Tensor4D;
  const up = (t: tf.Tensor4D) => tf.image.resizeBilinear(t, [2 * h, 2 * w], false, true);
  let inserted = hr;
  if (box) {
    const ins = tf.buffer([b, 2 * h, 2 * w, k]);
    const hv = hr.bufferSync();
    const [y1, , x1] = box.map((v) => Math.floor(v / 4));
    for (let n = 0; n < b; n++)
      for (let y = 0; y < hr.shape[1]; y++) for (let x = 0; x < hr.shape[2]; x++) for (let c = 0; c < k; c++) ins.set(hv.get(n, y, x, c), n, y1 + y, x1 + x, c);
    inserted = ins.toTensor() as tf.Tensor4D;
  }
  return { fused: tf.add(tf.mul(up(attM), inserted), up(lrScaled)), lrScaled };
}

test('fusion with a crop box (non-square, off-centre) matches the reference', async () => {
  await withLeakCheck(() => {
    tf.tidy(() => {
      // Full image 96×160 → LR 48×80 → LR logits 12×20; HR crop 32×48 at (y1=40, x1=64) → logits 8×12.
      const box: CropBox = [40, 72, 64, 112];
      const lr = tf.randomNormal([2, 12, 20, 19], 0, 10, 'float32', 1) as tf.Tensor4D;
      const att = tf.sigmoid(tf.randomNormal([2, 12, 20, 19], 0, 2, 'float32', 2)) as tf.Tensor4D;
      const hr = tf.randomNormal([2, 8, 12, 19], 0, 10, 'float32', 3) as tf.Tensor4D;
      const got = hrdaFuse(lr, att, hr, box, GEOM);
      const ref = reference(lr, att, hr, box);
      assertClose('fused (crop)', got.fused, ref.fused, 1e-4);
      assertClose('(1−att)·lr (crop)', got.lrSegTimes1MinusAtt, ref.lrScaled, 1e-5);
      // Outside the crop's LR cells the attention is 0, so (1−att)·lr = lr there.
      assert.equal(tf.max(tf.abs(tf.sub(tf.slice(got.lrSegTimes1MinusAtt, [0, 0, 0, 0], [-1, 5, -1, -1]), tf.slice(lr, [0, 0, 0, 0], [-1, 5, -1, -1])))).dataSync()[0], 0);
    });
  });
});

test('fusion without a crop (inference) and with one-channel attention', async () => {
  await withLeakCheck(() => {
    tf.tidy(() => {
      const lr = tf.randomNormal([1, 6, 10, 19], 0, 10, 'float32', 4) as tf.Tensor4D;
      const att = tf.sigmoid(tf.randomNormal([1, 6, 10, 1], 0, 2, 'float32', 5)) as tf.Tensor4D;
      const hr = tf.randomNormal([1, 12, 20, 19], 0, 10, 'float32', 6) as tf.Tensor4D;
      const got = hrdaFuse(lr, att, hr, null, GEOM);
      const ref = reference(lr, att, hr, null);
      assertClose('fused (no crop)', got.fused, ref.fused, 1e-4);
      assert.throws(() => hrdaFuse(lr, att, tf.slice(hr, [0, 0, 0, 0], [-1, 11, -1, -1]) as tf.Tensor4D, null, GEOM), CropBoxError);
      assert.throws(() => hrdaFuse(lr, att, hr, [40, 88, 0, 80], GEOM), CropBoxError);
    });
  });
});
