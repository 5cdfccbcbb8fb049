// The per-class IoU table printed at the end of an evaluation (TF-free; the coordinator
// prints the same table for aggregated counts).
import type { SegMetrics } from './confusion-matrix.js';

export function formatIouTable(m: SegMetrics, classNames: readonly string[]): string {
  const pct = (v: number) => (Number.isNaN(v) ? '   n/a' : (v * 100).toFixed(2).padStart(6));
  const lines = ['class           IoU     Acc', '-------------  ------  ------'];
  classNames.forEach((name, i) => lines.push(`${name.padEnd(13)}  ${pct(m.iou[i])}  ${pct(m.acc[i])}`));
  lines.push('-------------  ------  ------');
  lines.push(`mIoU (19)      ${pct(m.mIoU)}`);
  lines.push(`mIoU16 Synthia ${pct(m.mIoU16)}`);
  lines.push(`mIoU13 Synthia ${pct(m.mIoU13)}`);
  lines.push(`aAcc           ${pct(m.aAcc)}`);
  return lines.join('\n');
}
