// Evaluation across ranks: every rank sends the integer confusion counts of its validation
// shard; once all ranks of the generation have reported for a step, the counts are summed
// (exact: integers) and per-class IoU / mIoU computed from the sum — the same numbers a
// single process evaluating every image would get.
import { ConfusionMatrix, type SegMetrics } from '../common/confusion-matrix.js';

export class EvalAggregationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalAggregationError';
  }
}

export interface EvalResult {
  step: number;
  generation: number;
  images: number;
  confusion: ConfusionMatrix;
  metrics: SegMetrics;
}

interface Pending {
  generation: number;
  world: number;
  parts: Map<number, ConfusionMatrix>;
  images: number;
}

export class EvalAggregator {
  private readonly pending = new Map<number, Pending>();
  readonly results: EvalResult[] = [];

  /**
   * Adds one rank's counts for `step`; returns the merged result when this report was the
   * last one missing, else null. A second report from the same rank for a step is an error
   * (it would be counted twice).
   */
  add(r: { step: number; generation: number; rank: number; world: number; confusion: ConfusionMatrix; images: number }): EvalResult | null {
    let p = this.pending.get(r.step);
    if (p && p.generation !== r.generation) p = undefined; // a newer generation re-evaluates from scratch
    if (!p) {
      p = { generation: r.generation, world: r.world, parts: new Map(), images: 0 };
      this.pending.set(r.step, p);
    }
    if (r.rank < 0 || r.rank >= p.world) throw new EvalAggregationError(`eval report from rank ${r.rank} at step ${r.step}, but the world has ${p.world} ranks`);
    if (p.parts.has(r.rank)) throw new EvalAggregationError(`rank ${r.rank} reported the evaluation of step ${r.step} twice`);
    p.parts.set(r.rank, r.confusion);
    p.images += r.images;
    if (p.parts.size < p.world) return null;
    this.pending.delete(r.step);
    // Merge in rank order (integer sums: the order does not change the result, but logs read better).
    const ranks = [...p.parts.keys()].sort((a, b) => a - b);
    const total = new ConfusionMatrix(p.parts.get(ranks[0])!.numClasses);
    for (const k of ranks) total.merge(p.parts.get(k)!);
    const result: EvalResult = { step: r.step, generation: p.generation, images: p.images, confusion: total, metrics: total.metrics() };
    this.results.push(result);
    return result;
  }

  /** Steps whose evaluation is still waiting for ranks, with the ranks missing. */
  missing(): Array<{ step: number; ranks: number[] }> {
    return [...this.pending].map(([step, p]) => ({
      step,
      ranks: Array.from({ length: p.world }, (_, k) => k).filter((k) => !p.parts.has(k)),
    }));
  }
}
