// ConfusionMatrix against mmseg's intersect_and_union / eval_metrics / nanmean summary (miou.*).
// TF.js-free: everything is host integers and float64.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allGoldens, type Golden } from '../helpers/golden.js';
import { ConfusionMatrix, type SegMetrics } from '../../src/common/confusion-matrix.js';
import { assertSameInts, closeScalar, intsOf, npyOf } from './self-training-fixtures.js';

function floats(g: Golden, name: string): number[] {
  return Array.from(npyOf(g, name).data as ArrayLike<number>);
}

/** Same values with NaN where NaN, exact elsewhere. */
function assertSameFloats(label: string, actual: readonly number[], expected: readonly number[]): void {
  assert.equal(actual.length, expected.length, label);
  let maxAbs = 0;
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.equal(Number.isNaN(a), Number.isNaN(e), `${label}[${i}]: NaN mismatch (${a} vs ${e})`);
    if (!Number.isNaN(e)) maxAbs = Math.max(maxAbs, Math.abs(a - e));
  });
  console.log(`  ${label}: max|Δ|=${maxAbs.toExponential(3)}, NaN at [${actual.flatMap((a, i) => (Number.isNaN(a) ? [i] : []))}]`);
  assert.equal(maxAbs, 0, `${label}: max|Δ| ${maxAbs}`);
}

function checkAreas(label: string, m: SegMetrics, g: Golden, prefix: string): void {
  assertSameInts(`${label}.area_intersect`, m.areaIntersect, floats(g, `${prefix}.area_intersect`));
  assertSameInts(`${label}.area_union`, m.areaUnion, floats(g, `${prefix}.area_union`));
  assertSameInts(`${label}.area_pred`, m.areaPred, floats(g, `${prefix}.area_pred`));
  assertSameInts(`${label}.area_label`, m.areaLabel, floats(g, `${prefix}.area_label`));
}

for (const g of allGoldens()) {
  const sec = g.manifest.sections.miou;
  describe(`mIoU parity [${g.name}]`, () => {
    it('per-image areas, accumulated IoU/Acc/aAcc, nanmean mIoU and the rounded summary', () => {
      const total = new ConfusionMatrix(sec.num_classes, sec.ignore_index);
      for (let i = 0; i < sec.n_images; i++) {
        const pred = intsOf(g, `miou.pred_${i}`);
        const gt = intsOf(g, `miou.gt_${i}`);
        const one = new ConfusionMatrix(sec.num_classes, sec.ignore_index).add(pred, gt, `miou image ${i}`);
        checkAreas(`img${i}`, one.metrics(), g, `miou.img${i}`);
        total.add(pred, gt, `miou image ${i}`);
      }
      const m = total.metrics();
      assertSameFloats('miou.IoU', m.iou, floats(g, 'miou.IoU'));
      assertSameFloats('miou.Acc', m.acc, floats(g, 'miou.Acc'));
      closeScalar('miou.aAcc', m.aAcc, g.scalar('miou.aAcc'), 0);
      closeScalar('miou.mIoU_nanmean', m.mIoU, g.scalar('miou.mIoU_nanmean'), 0);
      closeScalar('miou.mIoU_summary_percent', m.mIoUPercent, g.scalar('miou.mIoU_summary_percent'), 0);
    });
  });
}
