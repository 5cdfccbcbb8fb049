// ConfusionMatrix: shard merging is exact, wire round-trip, bounds errors, NaN semantics,
// Synthia-16/13 subsets and numpy-style rounding. No TF.js involved.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rngFor } from '../../src/common/random.js';
import { ConfusionMatrix, ConfusionMatrixError, nanmean, roundHalfEven, SYNTHIA13_CLASSES, SYNTHIA16_CLASSES } from '../../src/common/confusion-matrix.js';

function randomImage(seed: number, n: number, c = 19): { pred: Int32Array; gt: Uint8Array } {
  const rng = rngFor(seed, 'cm-unit');
  const gt = Uint8Array.from({ length: n }, () => (rng.random() < 0.1 ? 255 : rng.randint(0, c)));
  const pred = Int32Array.from(gt, (g) => (g !== 255 && rng.random() < 0.6 ? g : rng.randint(0, c)));
  return { pred, gt };
}

describe('ConfusionMatrix', () => {
  it('per-shard matrices merged equal one matrix over all images (also after a JSON round trip)', () => {
    const images = Array.from({ length: 7 }, (_, i) => randomImage(i, 500 + 37 * i));
    const all = new ConfusionMatrix();
    for (const im of images) all.add(im.pred, im.gt);
    const shards = [new ConfusionMatrix(), new ConfusionMatrix(), new ConfusionMatrix()];
    images.forEach((im, i) => shards[i % 3].add(im.pred, im.gt));
    const merged = new ConfusionMatrix();
    for (const s of shards) merged.merge(ConfusionMatrix.fromJSON(JSON.parse(JSON.stringify(s.toJSON()))));
    assert.deepEqual(Array.from(merged.counts), Array.from(all.counts));
    assert.deepEqual(merged.metrics(), all.metrics());
    const valid = images.reduce((s, im) => s + im.gt.filter((g) => g !== 255).length, 0);
    assert.equal(all.total(), valid, 'ignored pixels are not counted');
  });

  it('metrics against a hand-computed 3-class example (NaN for absent classes)', () => {
    // gt:   0 0 1 1 255 0 ; pred: 0 1 1 1 2 0   (class 2 never in gt, predicted only on an ignored pixel)
    const m = new ConfusionMatrix(3).add([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 255, 0]).metrics();
    assert.deepEqual(m.areaIntersect, [2, 2, 0]);
    assert.deepEqual(m.areaLabel, [3, 2, 0]);
    assert.deepEqual(m.areaPred, [2, 3, 0]);
    assert.deepEqual(m.areaUnion, [3, 3, 0]);
    assert.deepEqual(m.iou.slice(0, 2), [2 / 3, 2 / 3]);
    assert.ok(Number.isNaN(m.iou[2]) && Number.isNaN(m.acc[2]));
    assert.equal(m.aAcc, 4 / 5);
    assert.equal(m.mIoU, 2 / 3);
    assert.equal(m.mIoUPercent, 66.67);
  });

  it('Synthia-16 / -13 mIoU average only their classes', () => {
    assert.equal(SYNTHIA16_CLASSES.length, 16);
    assert.equal(SYNTHIA13_CLASSES.length, 13);
    for (const k of [9, 14, 16]) assert.ok(!SYNTHIA16_CLASSES.includes(k));
    for (const k of [3, 4, 5, 9, 14, 16]) assert.ok(!SYNTHIA13_CLASSES.includes(k));
    // Perfect prediction on class k for k in 0..18, except classes 3 (wall) and 9 (terrain) are always wrong.
    const gt: number[] = [];
    const pred: number[] = [];
    for (let k = 0; k < 19; k++) {
      gt.push(k);
      pred.push(k === 3 || k === 9 ? (k + 1) % 19 : k);
    }
    const m = new ConfusionMatrix().add(pred, gt).metrics();
    // IoU: 3 → 0, 9 → 0, 4 and 10 → 1/2 (an extra false positive), the rest 1.
    const iou = (k: number) => (k === 3 || k === 9 ? 0 : k === 4 || k === 10 ? 0.5 : 1);
    const mean = (ks: readonly number[]) => ks.reduce((s, k) => s + iou(k), 0) / ks.length;
    assert.ok(Math.abs(m.mIoU16 - mean(SYNTHIA16_CLASSES)) < 1e-15);
    assert.ok(Math.abs(m.mIoU13 - mean(SYNTHIA13_CLASSES)) < 1e-15);
    assert.ok(Math.abs(m.mIoU - mean([...Array(19).keys()])) < 1e-15);
  });

  it('bounds-checks labels and predictions, with the pixel in the message', () => {
    const m = new ConfusionMatrix();
    assert.throws(() => m.add([0, 1], [0, 19]), /ground-truth label 19 at pixel 1/);
    assert.throws(() => m.add([0, 19], [0, 1]), /predicted label 19 at pixel 1/);
    assert.throws(() => m.add([0, 255], [0, 1]), ConfusionMatrixError);
    assert.throws(() => m.add([0], [0, 1]), ConfusionMatrixError);
    m.add([7], [255]); // an ignored pixel may have any prediction
    assert.equal(m.total(), 0);
    assert.throws(() => new ConfusionMatrix(19).merge(new ConfusionMatrix(16)), ConfusionMatrixError);
    assert.throws(() => ConfusionMatrix.fromJSON({ numClasses: 2, ignoreIndex: 255, counts: [1, 2, 3] }), ConfusionMatrixError);
    assert.throws(() => ConfusionMatrix.fromJSON({ numClasses: 2, ignoreIndex: 255, counts: [1, 2, 3, -1] }), ConfusionMatrixError);
  });

  it('nanmean and numpy-style half-to-even rounding', () => {
    assert.equal(nanmean([1, NaN, 3]), 2);
    assert.ok(Number.isNaN(nanmean([NaN, NaN])));
    assert.equal(roundHalfEven(0.125, 2), 0.12);
    assert.equal(roundHalfEven(0.375, 2), 0.38);
    assert.equal(roundHalfEven(39.6113709, 2), 39.61);
  });
});
