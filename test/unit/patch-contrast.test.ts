// Code-exact patch contrast pieces that the golden set does not pin down on its own:
// overlap row order with flips and PyTorch-slice clamping, parameter names/layouts,
// bank selection, and input validation.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { FeatureBank } from '../../src/model/losses/feature-bank.js';
import {
  PatchContrastError,
  declarePatchHeads,
  drawBankSelection,
  overlapRows,
  preparePatchContrast,
} from '../../src/model/losses/patch-contrast.js';

before(async () => {
  await useTestBackend();
});

test('overlapRows: box/8 on the map, flips mirror columns, batch after batch, clamped like a slice', () => {
  const [h, w] = [4, 5];
  // image 0: rows [8/8, 24/8) = 1..2, cols [0, 16/8) = 0..1, not flipped
  // image 1: rows [0, 8/8) = 0, cols [24/8, 64/8) = 3..(8→clamped 5), flipped
  const rows = overlapRows(
    [
      [8, 0],
      [0, 24],
    ],
    [
      [24, 16],
      [8, 64],
    ],
    [false, true],
    h,
    w,
    8,
  );
  const img1 = h * w;
  assert.deepEqual(Array.from(rows), [1 * w + 0, 1 * w + 1, 2 * w + 0, 2 * w + 1, img1 + (w - 1 - 3), img1 + (w - 1 - 4)]);
});

test('declarePatchHeads: the original key names, conv layout, loadable shapes', () => {
  const reg = new ParamRegistry();
  declarePatchHeads(reg.scope(''), 19, 128);
  const byName = new Map(reg.specs.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), [
    'classifier.bias',
    'classifier.weight',
    'project.0.bias',
    'project.0.weight',
    'project.2.bias',
    'project.2.weight',
  ]);
  assert.deepEqual(byName.get('project.2.weight')!.torchShape, [128, 19, 1, 1]);
  assert.equal(byName.get('project.2.weight')!.layout, 'conv');
  assert.equal(byName.get('classifier.bias')!.layout, 'vector');
  const total = reg.specs.reduce((s, p) => s + p.torchShape.reduce((a, b) => a * b, 1), 0);
  assert.equal(total, 3320, 'the 3,320 parameters of SPEC §7.11');
});

test('drawBankSelection: distinct rows in range, reproducible, clamped to the map', () => {
  const a = drawBankSelection(rngFor(4, 'bank'), 500, 160);
  const b = drawBankSelection(rngFor(4, 'bank'), 500, 160);
  assert.deepEqual(a, b);
  for (const idx of [a.idx1, a.idx2]) {
    assert.equal(new Set(idx).size, 160);
    assert.ok(idx.every((i) => i >= 0 && i < 500));
  }
  assert.notDeepEqual(a.idx1, a.idx2);
  assert.equal(drawBankSelection(rngFor(4), 50, 160).idx1.length, 50);
});

test('preparePatchContrast: mismatched views or boxes are named errors and leave nothing behind', async () => {
  const reg = new ParamRegistry();
  declarePatchHeads(reg.scope(''));
  const store = new ParamStore(reg.specs, 1);
  const bank = new FeatureBank(3);
  await withLeakCheck(() => {
    const a = tf.zeros([1, 16, 16, 19]) as tf.Tensor4D;
    const b = tf.zeros([1, 16, 18, 19]) as tf.Tensor4D;
    const boxes = { ul1: [[0, 0] as const], br1: [[32, 32] as const], ul2: [[0, 0] as const], br2: [[24, 32] as const], flip1: [false], flip2: [false] };
    const sel = { idx1: new Int32Array([0, 1]), idx2: new Int32Array([2, 3]) };
    assert.throws(() => preparePatchContrast(store, a, b, boxes, sel, bank), PatchContrastError);
    assert.throws(() => preparePatchContrast(store, a, a, boxes, sel, bank), PatchContrastError, 'unequal overlaps');
    assert.throws(() => preparePatchContrast(store, a, a, { ...boxes, flip2: [] }, sel, bank), PatchContrastError);
    assert.equal(bank.steps, 0);
    tf.dispose([a, b]);
  });
  bank.dispose();
  store.dispose();
});
