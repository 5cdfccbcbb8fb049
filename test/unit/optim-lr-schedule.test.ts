// mmcv poly + linear warm-up, SPEC §4.2 test vectors for both base lrs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LrScheduleError, polyWarmupLr } from '../../src/model/optim/lr-schedule.js';

// [iter, backbone lr (base 6e-5)] from SPEC §4.2; the head group (base 6e-4) is stated
// as 10× where the SPEC gives it, and the schedule is linear in the base lr.
const VECTORS: Array<[number, number, number?]> = [
  [0, 6.0e-11, 6.0e-10],
  [1, 4.005929e-8, 4.005929e-7],
  [750, 2.962503e-5],
  [1499, 5.8462e-5],
  [1500, 5.85e-5, 5.85e-4],
  [10000, 5.0e-5],
  [30000, 3.0e-5],
  [59999, 1.0e-9, 1.0e-8],
];

function assertRel(actual: number, expected: number, rel: number, label: string): void {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  console.log(`  ${label}: ${actual.toExponential(7)} vs ${expected.toExponential(7)} (rel ${err.toExponential(2)})`);
  assert.ok(err <= rel, `${label}: ${actual} vs ${expected}, relative error ${err} > ${rel}`);
}

test('SPEC §4.2 vectors, base lr 6e-5 and 6e-4 (relative 1e-6)', () => {
  for (const [i, backbone, head] of VECTORS) {
    assertRel(polyWarmupLr(i, { baseLr: 6e-5, maxIters: 60000 }), backbone, 1e-6, `6e-5 @${i}`);
    assertRel(polyWarmupLr(i, { baseLr: 6e-4, maxIters: 60000 }), head ?? backbone * 10, 1e-6, `6e-4 @${i}`);
  }
});

test('warm-up ends exactly at warmupIters and the options are honoured', () => {
  const o = { baseLr: 1, maxIters: 100, warmupIters: 10, warmupRatio: 0.1 };
  // i=0: regular 1 · (1 − 1·0.9) = 0.1
  assertRel(polyWarmupLr(0, o), 0.1, 1e-12, 'ratio 0.1 @0');
  // i=5: regular 0.95 · (1 − 0.5·0.9) = 0.5225
  assertRel(polyWarmupLr(5, o), 0.95 * 0.55, 1e-12, 'ratio 0.1 @5');
  assertRel(polyWarmupLr(10, o), 0.9, 1e-12, '@10 no warm-up');
  assertRel(polyWarmupLr(50, { ...o, power: 2, minLr: 0.1 }), 0.9 * 0.25 + 0.1, 1e-12, 'power 2, min lr');
  assert.equal(polyWarmupLr(100, { baseLr: 6e-5, maxIters: 100, warmupIters: 0 }), 0);
  assert.throws(() => polyWarmupLr(-1, o), LrScheduleError);
  assert.throws(() => polyWarmupLr(1.5, o), LrScheduleError);
});
