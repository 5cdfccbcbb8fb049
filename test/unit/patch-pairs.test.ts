// Geometry invariants of the overlapping crop pair (paper-intent patch contrast), over
// many seeds, square and non-square images, odd image and crop sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { rngFor } from '../../src/common/random.js';
import { withLeakCheck } from '../helpers/golden.js';
import {
  PatchGeometryError,
  cropPatchPair,
  featureOverlap,
  patchPairGeometry,
  type PatchPair,
  type PixelBox,
} from '../../src/model/losses/patch-pairs.js';

const configs: Array<{ H: number; W: number; crop: number | [number, number]; stride: number; iou: [number, number] }> = [
  { H: 1024, W: 2048, crop: 720, stride: 8, iou: [0.1, 1.0] },
  { H: 97, W: 131, crop: 48, stride: 4, iou: [0.1, 1.0] },
  { H: 75, W: 75, crop: [33, 45], stride: 3, iou: [0.2, 0.9] },
  { H: 61, W: 203, crop: [40, 56], stride: 8, iou: [0.3, 0.7] },
];

function inside(inner: PixelBox, h: number, w: number): boolean {
  return inner.y >= 0 && inner.x >= 0 && inner.y + inner.h <= h && inner.x + inner.w <= w && inner.h > 0 && inner.w > 0;
}

function checkPair(p: PatchPair, c: (typeof configs)[number]): void {
  const [ch, cw] = typeof c.crop === 'number' ? [c.crop, c.crop] : c.crop;
  assert.ok(inside(p.crop1, c.H, c.W) && inside(p.crop2, c.H, c.W), 'crops inside the image');
  assert.deepEqual([p.crop1.h, p.crop1.w, p.crop2.h, p.crop2.w], [ch, cw, ch, cw], 'crop sizes');
  assert.ok((p.crop2.y - p.crop1.y) % c.stride === 0, 'row offset is a multiple of the stride');
  assert.ok((p.crop2.x - p.crop1.x) % c.stride === 0, 'column offset is a multiple of the stride');
  assert.deepEqual([p.overlap1.h, p.overlap1.w], [p.overlap2.h, p.overlap2.w], 'equal overlap sizes');
  assert.ok(inside(p.overlap1, ch, cw) && inside(p.overlap2, ch, cw), 'overlaps inside their crops');
  for (const o of [p.overlap1, p.overlap2]) {
    assert.ok(o.y % c.stride === 0 && o.x % c.stride === 0, 'overlap corner on the stride grid');
  }
  // both overlaps are the same image region
  assert.deepEqual(
    [p.crop1.y + p.overlap1.y, p.crop1.x + p.overlap1.x],
    [p.crop2.y + p.overlap2.y, p.crop2.x + p.overlap2.x],
    'overlaps map to the same image pixels',
  );
  const inter = p.overlap1.h * p.overlap1.w;
  assert.ok(Math.abs(p.iou - inter / (2 * ch * cw - inter)) < 1e-12, 'reported IoU');
  if (!p.fellBack) assert.ok(p.iou >= c.iou[0] && p.iou <= c.iou[1], `IoU ${p.iou} within [${c.iou}]`);
  else assert.deepEqual(p.crop1, p.crop2);
}

test('patchPairGeometry: invariants over many seeds and shapes', () => {
  for (const [ci, c] of configs.entries()) {
    let flips = 0;
    let fell = 0;
    for (let seed = 0; seed < 300; seed++) {
      const p = patchPairGeometry(rngFor(seed, 'pair', ci), c.H, c.W, c.crop, c.stride, c.iou);
      checkPair(p, c);
      flips += Number(p.flip1) + Number(p.flip2);
      fell += Number(p.fellBack);
    }
    assert.ok(flips > 200 && flips < 400, `about half of the crops are flipped (${flips}/600)`);
    assert.ok(fell < 30, `few fallbacks (${fell}/300)`);
  }
});

test('patchPairGeometry: the same seed gives the same pair', () => {
  const a = patchPairGeometry(rngFor(5, 'x'), 97, 131, 48, 4, [0.1, 1]);
  const b = patchPairGeometry(rngFor(5, 'x'), 97, 131, 48, 4, [0.1, 1]);
  assert.deepEqual(a, b);
});

test('featureOverlap: whole cells, equal sizes, inside both feature maps', () => {
  for (const [ci, c] of configs.entries()) {
    const [ch, cw] = typeof c.crop === 'number' ? [c.crop, c.crop] : c.crop;
    for (const round of [Math.floor, Math.ceil]) {
      const [fh, fw] = [round(ch / c.stride), round(cw / c.stride)];
      for (let seed = 0; seed < 100; seed++) {
        const p = patchPairGeometry(rngFor(seed, 'feat', ci), c.H, c.W, c.crop, c.stride, c.iou);
        const o = featureOverlap(p, fh, fw);
        assert.ok(o.h >= 1 && o.w >= 1, 'non-empty');
        assert.ok(o.y1 + o.h <= fh && o.y2 + o.h <= fh && o.x1 + o.w <= fw && o.x2 + o.w <= fw, 'inside both maps');
        // cell (y1 + i) of crop 1 and cell (y2 + i) of crop 2 start at the same image row
        assert.equal(p.crop1.y + o.y1 * c.stride, p.crop2.y + o.y2 * c.stride);
        assert.equal(p.crop1.x + o.x1 * c.stride, p.crop2.x + o.x2 * c.stride);
        // the cells lie within the pixel overlap
        assert.ok(o.h * c.stride <= p.overlap1.h && o.w * c.stride <= p.overlap1.w);
      }
    }
  }
});

test('patchPairGeometry: impossible requests are named errors', () => {
  assert.throws(() => patchPairGeometry(rngFor(0), 30, 30, 40, 8, [0.1, 1]), PatchGeometryError);
  assert.throws(() => patchPairGeometry(rngFor(0), 30, 30, 16, 0, [0.1, 1]), PatchGeometryError);
  assert.throws(() => patchPairGeometry(rngFor(0), 30, 30, 16, 4, [0.8, 0.2]), PatchGeometryError);
});

test('cropPatchPair: slices the image and mirrors flagged crops', async () => {
  await withLeakCheck(() => {
    const H = 9;
    const W = 13;
    const img = tf.tidy(() => tf.reshape(tf.range(0, H * W * 2), [1, H, W, 2]) as tf.Tensor4D);
    const pair: PatchPair = {
      crop1: { y: 1, x: 2, h: 4, w: 6 },
      crop2: { y: 3, x: 6, h: 4, w: 6 },
      overlap1: { y: 2, x: 4, h: 2, w: 2 },
      overlap2: { y: 0, x: 0, h: 2, w: 2 },
      flip1: false,
      flip2: true,
      stride: 2,
      iou: 0,
      fellBack: false,
    };
    const [a, b] = cropPatchPair(img, pair);
    const at = (t: tf.Tensor, y: number, x: number) => (t.arraySync() as number[][][][])[0][y][x][0];
    const src = (y: number, x: number) => (y * W + x) * 2;
    assert.equal(at(a, 0, 0), src(1, 2));
    assert.equal(at(a, 3, 5), src(4, 7));
    assert.equal(at(b, 0, 0), src(3, 11), 'flipped crop starts at its right edge');
    assert.equal(at(b, 0, 5), src(3, 6));
    tf.dispose([img, a, b]);
  });
});
