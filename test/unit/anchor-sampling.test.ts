// Label preparation and hard/easy anchor sampling of the pixel contrast (SPEC §1.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rngFor } from '../../src/common/random.js';
import {
  CODE_EXACT_SAMPLING,
  ContrastInputError,
  FIXED_SAMPLING,
  PermutationReplayError,
  prepareContrastLabels,
  replayPermutations,
  sampleAnchors,
  torchNearestSource,
  type PermutationSource,
} from '../../src/model/losses/anchor-sampling.js';

test('torchNearestSource: floor(dst·in/out) in float32, with the 1x and 2x special cases', () => {
  assert.deepEqual(Array.from(torchNearestSource(64, 16)), [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]);
  assert.deepEqual(Array.from(torchNearestSource(5, 10)), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  assert.deepEqual(Array.from(torchNearestSource(7, 7)), [0, 1, 2, 3, 4, 5, 6]);
  // 2/82 in float32 is slightly below 1/41, so 41·scale < 1 → source 0 (double math gives 1)
  assert.equal(torchNearestSource(2, 82)[41], 0);
  assert.equal(torchNearestSource(2, 82)[42], 1);
  for (const [i, o] of [[1024, 128], [97, 31], [360, 90], [33, 100]]) {
    const idx = torchNearestSource(i, o);
    assert.equal(idx.length, o);
    for (let d = 1; d < o; d++) assert.ok(idx[d] >= idx[d - 1] && idx[d] < i);
  }
});

test('prepareContrastLabels: code-exact resizes the whole map; detail-crop crops first', () => {
  const [B, H, W] = [2, 8, 12];
  const labels = Int32Array.from({ length: B * H * W }, (_, i) => i);
  const full = prepareContrastLabels(labels, [B, H, W], [2, 3]);
  // rows 0,4 and cols 0,4,8 of each image
  assert.deepEqual(Array.from(full), [0, 4, 8, 48, 52, 56, 96, 100, 104, 144, 148, 152]);
  const box = { y1: 2, y2: 6, x1: 4, x2: 10 };
  const cropped = prepareContrastLabels(labels, [B, H, W], [2, 3], { kind: 'detail-crop', box });
  // crop rows 2..5, cols 4..9 → rows 2,4 and cols 4,6,8
  assert.deepEqual(Array.from(cropped), [28, 30, 32, 52, 54, 56, 124, 126, 128, 148, 150, 152]);
  assert.throws(() => prepareContrastLabels(labels, [B, H, W], [2, 3], { kind: 'detail-crop', box: { ...box, x2: 13 } }), ContrastInputError);
  assert.throws(() => prepareContrastLabels(labels.subarray(1), [B, H, W], [2, 3]), ContrastInputError);
});

/** Identity permutations, recording the requested lengths. */
function identityPerms(): PermutationSource & { lengths: number[] } {
  const lengths: number[] = [];
  return {
    lengths,
    permutation(n: number) {
      lengths.push(n);
      return Array.from({ length: n }, (_, i) => i);
    },
  };
}

test('sampleAnchors: classes, n_view and the three branches', () => {
  // one image of 400 pixels: class 1 (150 px, 60 hard), class 2 (130 px, 120 hard), class 3 (110 px, 5 hard),
  // class 4 (10 px: too few), 255 (0 px here)
  const pixels = 400;
  const labels = new Int32Array(pixels).fill(4);
  const predict = new Int32Array(pixels).fill(0);
  let p = 0;
  const fill = (c: number, n: number, hard: number) => {
    for (let i = 0; i < n; i++, p++) {
      labels[p] = c;
      predict[p] = i < hard ? 9 : c;
    }
  };
  fill(1, 150, 60);
  fill(2, 130, 120);
  fill(3, 110, 5);
  const perms = identityPerms();
  const opts = { maxSamples: 240, maxViews: 100, ignoreLabels: [-1] };
  const s = sampleAnchors(labels, predict, 1, pixels, perms, opts);
  assert.equal(s.numAnchors, 3);
  assert.equal(s.viewsPerAnchor, 80); // min(floor(240/3), 100)
  assert.deepEqual(Array.from(s.classOfAnchor), [1, 2, 3]);
  assert.deepEqual(perms.lengths, [60, 90, 120, 10, 5, 105]);
  const idx = (k: number) => Array.from(s.flatIndex.subarray(k * 80, (k + 1) * 80));
  // class 1: both ≥ 40 → 40 hard (pixels 0..39) + 40 easy (60..99)
  assert.deepEqual(idx(0), [...Array.from({ length: 40 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => 60 + i)]);
  // class 2: hard ≥ 40, easy 10 < 40 → all 10 easy, 70 hard
  const c2 = idx(1);
  assert.deepEqual(c2.slice(0, 70), Array.from({ length: 70 }, (_, i) => 150 + i));
  assert.deepEqual(c2.slice(70), Array.from({ length: 10 }, (_, i) => 270 + i));
  // class 3: easy ≥ 40, hard 5 → all 5 hard, 75 easy
  const c3 = idx(2);
  assert.deepEqual(c3.slice(0, 5), [280, 281, 282, 283, 284]);
  assert.deepEqual(c3.slice(5), Array.from({ length: 75 }, (_, i) => 285 + i));
});

test('sampleAnchors: 255 is a class in code-exact mode, not in the fixed mode; K = 0 is fine', () => {
  const pixels = 300;
  const labels = Int32Array.from({ length: pixels }, (_, i) => (i < 150 ? 255 : 7));
  const predict = new Int32Array(pixels);
  const exact = sampleAnchors(labels, predict, 1, pixels, rngFor(0), CODE_EXACT_SAMPLING);
  assert.deepEqual(Array.from(exact.classOfAnchor), [7, 255]);
  const fixed = sampleAnchors(labels, predict, 1, pixels, rngFor(0), FIXED_SAMPLING);
  assert.deepEqual(Array.from(fixed.classOfAnchor), [7]);
  const none = sampleAnchors(new Int32Array(pixels).fill(-1), predict, 1, pixels, rngFor(0), CODE_EXACT_SAMPLING);
  assert.equal(none.numAnchors, 0);
  assert.equal(none.flatIndex.length, 0);
});

test('sampleAnchors: an Rng gives distinct in-class pixels, reproducibly', () => {
  const [B, pixels] = [2, 500];
  const rng = rngFor(1, 'labels');
  const labels = Int32Array.from({ length: B * pixels }, () => rng.randint(0, 3));
  const predict = Int32Array.from({ length: B * pixels }, () => rng.randint(0, 3));
  const a = sampleAnchors(labels, predict, B, pixels, rngFor(9, 'perm'));
  const b = sampleAnchors(labels, predict, B, pixels, rngFor(9, 'perm'));
  assert.deepEqual(a, b);
  assert.equal(a.numAnchors, 6);
  for (let k = 0; k < a.numAnchors; k++) {
    const views = a.flatIndex.subarray(k * a.viewsPerAnchor, (k + 1) * a.viewsPerAnchor);
    assert.equal(new Set(views).size, views.length, 'no pixel twice');
    for (const v of views) assert.equal(labels[a.imageOfAnchor[k] * pixels + v], a.classOfAnchor[k]);
  }
});

test('replayPermutations: refuses a length mismatch or running out', () => {
  const r = replayPermutations([[1, 0], [0]]);
  assert.deepEqual(Array.from(r.permutation(2)), [1, 0]);
  assert.throws(() => r.permutation(3), PermutationReplayError);
  assert.deepEqual(Array.from(r.permutation(1)), [0]);
  assert.equal(r.remaining(), 0);
  assert.throws(() => r.permutation(1), PermutationReplayError);
});
