// Which samples a step uses, and which rank loads which. The global batch of a step depends only on
// (seed, step): draw g of step s comes from rngFor(seed, 'draw', s, g), so splitting the batch over
// any number of ranks (contiguous slices) yields exactly the samples a single process would load.
import { rngFor, type Rng } from '../common/random.js';
import { ShardingError } from './errors.js';
import type { RcsTable } from './rcs.js';

/** What the draws are made from: dataset sizes and, for Rare Class Sampling, the RCS table. */
export interface DrawSpace {
  sourceCount: number;
  targetCount: number;
  rcs: RcsTable | null;
}

export interface SampleDraw {
  /** Position in the global batch (0 .. globalBatch−1). */
  globalIndex: number;
  /** Source file index and the RCS class it was drawn for (null: uniform draw). */
  source: { index: number; rcsClass: number | null };
  /** Target file index, uniform and independent of the source draw. */
  target: { index: number };
}

/** Index drawn from a categorical distribution (probabilities sum to 1). */
export function drawCategorical(rng: Rng, probs: readonly number[]): number {
  const u = rng.random();
  let acc = 0;
  for (let k = 0; k < probs.length; k++) {
    acc += probs[k];
    if (u < acc) return k;
  }
  return probs.length - 1;
}

/** One global draw: RCS class c ~ P, then a file uniformly among those with > minPixels of c. */
export function drawSample(space: DrawSpace, seed: number, step: number, globalIndex: number): SampleDraw {
  if (space.sourceCount <= 0 || space.targetCount <= 0) throw new ShardingError(`cannot draw from empty datasets (source ${space.sourceCount}, target ${space.targetCount})`);
  const rs = rngFor(seed, 'draw', step, globalIndex, 'source');
  let source: SampleDraw['source'];
  if (space.rcs) {
    const k = drawCategorical(rs, space.rcs.probs);
    const files = space.rcs.samplesByClass[k];
    source = { index: files[rs.randint(0, files.length)], rcsClass: space.rcs.classes[k] };
  } else {
    source = { index: rs.randint(0, space.sourceCount), rcsClass: null };
  }
  const target = { index: rngFor(seed, 'draw', step, globalIndex, 'target').randint(0, space.targetCount) };
  return { globalIndex, source, target };
}

/** The global batch of a step: globalBatch draws depending only on (seed, step). */
export function samplesForStep(space: DrawSpace, seed: number, step: number, globalBatch: number): SampleDraw[] {
  if (!Number.isInteger(globalBatch) || globalBatch <= 0) throw new ShardingError(`global batch must be a positive integer, got ${globalBatch}`);
  return Array.from({ length: globalBatch }, (_, g) => drawSample(space, seed, step, g));
}

function checkRank(rank: number, world: number): void {
  if (!Number.isInteger(world) || world <= 0) throw new ShardingError(`world size must be a positive integer, got ${world}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world) throw new ShardingError(`rank ${rank} is outside 0..${world - 1}`);
}

/** This rank's contiguous slice of the global draws; world must divide the global batch. */
export function sliceForRank<T>(draws: readonly T[], rank: number, world: number): T[] {
  checkRank(rank, world);
  if (draws.length % world !== 0) {
    throw new ShardingError(`global batch ${draws.length} is not divisible by world size ${world}: choose a global batch that is a multiple of the number of workers`);
  }
  const per = draws.length / world;
  return draws.slice(rank * per, (rank + 1) * per);
}

/** Validation indices of a rank: contiguous, disjoint, together complete, no padding (sizes differ by ≤ 1). */
export function valShard(n: number, rank: number, world: number): number[] {
  checkRank(rank, world);
  const base = Math.floor(n / world), extra = n % world;
  const start = rank * base + Math.min(rank, extra);
  const len = base + (rank < extra ? 1 : 0);
  return Array.from({ length: len }, (_, i) => start + i);
}
