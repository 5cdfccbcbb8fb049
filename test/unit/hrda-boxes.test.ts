// Crop-box and slide-window arithmetic of HRDA (get_crop_bbox, scale_box, the slide grids),
// and the paste-average of window logits, against hand-derived values and a naive loop.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';
import { rngFor } from '../../src/common/random.js';
import { CropBoxError, cropNhwc, randomCropBox, scaleBox } from '../../src/model/hrda/crop-box.js';
import { slideWindowBoxes } from '../../src/model/hrda/slide-windows.js';
import { pasteAndAverage } from '../../src/model/hrda/paste-average.js';

before(async () => {
  await useTestBackend();
});

test('scaleBox truncates like Python int(v / s)', () => {
  assert.deepEqual(scaleBox([504, 1016, 8, 520], 8), [63, 127, 1, 65]);
  assert.deepEqual(scaleBox([24, 88, 48, 112], 4), [6, 22, 12, 28]);
  assert.deepEqual(scaleBox([3, 7, 5, 9], 4), [0, 1, 1, 2]);
  assert.deepEqual(scaleBox([10, 20, 30, 40], 0.5), [20, 40, 60, 80]);
});

test('randomCropBox: offsets are multiples of the divisor in [0, (H−crop+1)//div·div)', () => {
  const rng = rngFor(7, 'test', 'crop');
  const seenY = new Set<number>();
  const seenX = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const [y1, y2, x1, x2] = randomCropBox(rng, 1024, 720, [512, 256], 8);
    assert.equal(y2 - y1, 512);
    assert.equal(x2 - x1, 256);
    assert.equal(y1 % 8, 0);
    assert.equal(x1 % 8, 0);
    seenY.add(y1);
    seenX.add(x1);
  }
  // (1024−512+1)//8 = 64 values 0..504; (720−256+1)//8 = 58 values 0..456.
  assert.equal(Math.max(...seenY), 504);
  assert.equal(seenY.size, 64);
  assert.equal(Math.max(...seenX), 456);
  assert.equal(seenX.size, 58);
});

test('randomCropBox: image equal to the crop gives the whole image and draws nothing', () => {
  const a = rngFor(1, 'x');
  const b = rngFor(1, 'x');
  assert.deepEqual(randomCropBox(a, 64, 96, [64, 96], 8), [0, 64, 0, 96]);
  assert.equal(a.nextU32(), b.nextU32());
});

test('randomCropBox: an empty offset range gives offset 0 (numpy would raise)', () => {
  const rng = rngFor(2, 'x');
  for (let i = 0; i < 20; i++) {
    const [y1, , x1] = randomCropBox(rng, 64, 100, [64, 64], 8);
    assert.equal(y1, 0);
    assert.ok(x1 % 8 === 0 && x1 <= 32);
  }
  assert.throws(() => randomCropBox(rng, 64, 64, [0, 64]), CropBoxError);
});

test('slideWindowBoxes reproduces the SPEC grids', () => {
  // HR slide of a 1024² crop: 512 windows, stride 256 → offsets 0, 256, 512.
  const hr = slideWindowBoxes(1024, 1024, [512, 512], [256, 256]);
  assert.equal(hr.length, 9);
  assert.deepEqual([...new Set(hr.map((b) => b[0]))], [0, 256, 512]);
  // Test slide on 1024×2048: one row, columns 0, 512, 1024.
  assert.deepEqual(slideWindowBoxes(1024, 2048, [1024, 1024], [512, 512]), [
    [0, 1024, 0, 1024],
    [0, 1024, 512, 1536],
    [0, 1024, 1024, 2048],
  ]);
  // 720² patch views: offsets 0 and 208 per axis (last window shifted to the border).
  assert.deepEqual(
    slideWindowBoxes(720, 720, [512, 512], [256, 256]).map((b) => [b[0], b[2]]),
    [
      [0, 0],
      [0, 208],
      [208, 0],
      [208, 208],
    ],
  );
  // Image smaller than the window: one window clipped at 0.
  assert.deepEqual(slideWindowBoxes(40, 50, [64, 64], [32, 32]), [[0, 40, 0, 50]]);
  // Non-square, row-major order.
  const ns = slideWindowBoxes(96, 160, [64, 64], [32, 32]);
  assert.equal(ns.length, 2 * 4);
  assert.deepEqual(ns[3], [0, 64, 96, 160]);
  assert.deepEqual(ns[4], [32, 96, 0, 64]);
});

test('cropNhwc slices rows y1:y2 and columns x1:x2 and rejects boxes outside', async () => {
  await withLeakCheck(() => {
    tf.tidy(() => {
      const x = tf.range(0, 6 * 7).reshape([1, 6, 7, 1]) as tf.Tensor4D;
      const c = cropNhwc(x, [1, 4, 2, 5]);
      assert.deepEqual(c.shape, [1, 3, 3, 1]);
      assert.deepEqual(Array.from(c.dataSync()), [9, 10, 11, 16, 17, 18, 23, 24, 25]);
      assert.throws(() => cropNhwc(x, [0, 7, 0, 3]), CropBoxError);
    });
  });
});

test('pasteAndAverage equals a naive sum/count loop on overlapping non-square windows', async () => {
  await withLeakCheck(() => {
    tf.tidy(() => {
      const [H, W, C, bs] = [7, 11, 3, 2];
      const boxes = slideWindowBoxes(H, W, [4, 5], [2, 3]);
      const win = tf.randomNormal([boxes.length * bs, 4, 5, C], 0, 1, 'float32', 3) as tf.Tensor4D;
      const got = pasteAndAverage(win, boxes, bs, [H, W]);
      const w = win.arraySync();
      const sum = new Float64Array(bs * H * W * C);
      const cnt = new Float64Array(H * W);
      boxes.forEach(([y1, y2, x1, x2], i) => {
        for (let y = y1; y < y2; y++)
          for (let x = x1; x < x2; x++) {
            cnt[y * W + x]++;
            for (let b = 0; b < bs; b++) for (let c = 0; c < C; c++) sum[((b * H + y) * W + x) * C + c] += w[i * bs + b][y - y1][x - x1][c];
          }
      });
      const exp = sum.map((v, j) => v / cnt[Math.floor(j / C) % (H * W)]);
      const g = got.dataSync();
      let maxd = 0;
      for (let j = 0; j < g.length; j++) maxd = Math.max(maxd, Math.abs(g[j] - exp[j]));
      console.log(`  paste-average vs naive: max|Δ|=${maxd.toExponential(3)}`);
      assert.ok(maxd < 1e-6);
      assert.throws(() => pasteAndAverage(win, boxes.slice(1), bs, [H, W]), CropBoxError);
      assert.throws(() => pasteAndAverage(tf.slice(win, 0, bs) as tf.Tensor4D, [[0, 4, 0, 5]], bs, [H, W]), /covered by no window/);
    });
  });
});
