// metrics.jsonl of a run: one JSON object per line, appended as things happen, so a killed
// run keeps every line written before the kill.
//   {"type":"step","step","world","loss":{…},"lr","ms":{data,compute,comm,optim,total},"imgsPerSec"}  one per step
//   {"type":"step","step","rank","ms":{…},"imgsPerSec"}                                               one per rank and step
//   {"type":"eval","step","miou","iou":[…],"classes":[…],"images"}
// The global step line is written once every rank reported the step: losses are the
// ranks' all-reduced means (identical on every rank), each phase time is the slowest rank's.
import { appendFileSync } from 'node:fs';
import type { EvalResult } from './eval-aggregator.js';
import type { StepReportMsg } from './wire.js';

export const PHASES = ['data', 'compute', 'comm', 'optim', 'total'] as const;

export interface GlobalStepRecord {
  type: 'step';
  step: number;
  world: number;
  loss: Record<string, number>;
  lr: number;
  ms: Record<string, number>;
  imgsPerSec: number;
  skipped: boolean;
}

export class MetricsLog {
  constructor(readonly path: string) {}

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  eval(r: EvalResult, classNames: readonly string[]): void {
    const nan = (v: number) => (Number.isNaN(v) ? null : v);
    this.write({
      type: 'eval', step: r.step, generation: r.generation, images: r.images, miou: nan(r.metrics.mIoU),
      iou: r.metrics.iou.map(nan), acc: r.metrics.acc.map(nan), aAcc: nan(r.metrics.aAcc), classes: classNames.slice(0, r.metrics.iou.length),
    });
  }
}

/** Collects the ranks' reports of each step; yields the global record when the last rank's arrives. */
export class StepCollector {
  private readonly pending = new Map<number, Map<number, StepReportMsg>>();

  constructor(private readonly log: MetricsLog) {}

  add(rank: number, world: number, r: StepReportMsg): GlobalStepRecord | null {
    const ms = Object.fromEntries(PHASES.map((p) => [p, r.ms[p] ?? 0]));
    this.log.write({ type: 'step', step: r.step, rank, ms, imgsPerSec: r.images / Math.max(1e-9, ms.total / 1000) });
    let ranks = this.pending.get(r.step);
    if (!ranks) this.pending.set(r.step, (ranks = new Map()));
    ranks.set(rank, r);
    if (ranks.size < world) return null;
    this.pending.delete(r.step);
    const all = [...ranks.values()];
    const slowest = Object.fromEntries(PHASES.map((p) => [p, Math.max(...all.map((x) => x.ms[p] ?? 0))]));
    const images = all.reduce((s, x) => s + x.images, 0);
    const first = ranks.get(0) ?? all[0];
    const record: GlobalStepRecord = {
      type: 'step', step: r.step, world, loss: first.loss, lr: first.lr, ms: slowest,
      imgsPerSec: images / Math.max(1e-9, slowest.total / 1000), skipped: all.some((x) => x.skipped),
    };
    this.log.write(record as unknown as Record<string, unknown>);
    return record;
  }

  /** Forget partial steps (a generation ended). */
  clear(): void {
    this.pending.clear();
  }
}
