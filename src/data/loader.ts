// Prefetching loaders. TrainLoader yields this rank's slice of every step's global batch, loading
// `prefetchSteps` steps ahead on worker threads so a training step does not wait for data. What a
// step contains depends only on (seed, step): draws from samplesForStep, crops/flips from
// rngFor(seed, 'sample', step, globalIndex, …) — not on the number of workers or ranks.
import type { LoadedDraw, TrainDataSpec, ValDataSpec } from './sample-loader.js';
import { samplesForStep, sliceForRank, type DrawSpace } from './sharding.js';
import type { DataWarning, SampleMeta, TrainBatch, ValSample } from './types.js';
import { WorkerPool } from './worker-pool.js';

export interface TrainLoaderOptions {
  spec: TrainDataSpec;
  space: DrawSpace;
  globalBatch: number;
  rank: number;
  world: number;
  /** First step to load (resume). Default 0. */
  startStep?: number;
  /** Steps loaded ahead of the one being consumed. Default 2. */
  prefetchSteps?: number;
  /** Worker threads; 0 loads in this thread. Default 2. */
  workers?: number;
  /** Called with each unreadable file (replaced by a re-draw) when its step is consumed. */
  onWarning?: (w: DataWarning) => void;
}

type Assembled = Omit<TrainBatch, 'waitMs'>;

/** Stacks per-sample arrays into one contiguous [B, …] array. */
function stack<T extends Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function assembleBatch(step: number, loaded: LoadedDraw[], globalIndices: number[]): Assembled {
  const { height, width } = loaded[0].source;
  return {
    step, size: loaded.length, height, width, globalIndices, warnings: loaded.flatMap((l) => l.warnings),
    source: {
      img: stack(loaded.map((l) => l.source.img), (n) => new Float32Array(n)),
      label: stack(loaded.map((l) => l.source.label), (n) => new Uint8Array(n)),
      meta: loaded.map((l) => l.source.meta) as SampleMeta[],
    },
    target: {
      img: stack(loaded.map((l) => l.target.img), (n) => new Float32Array(n)),
      validPseudoMask: stack(loaded.map((l) => l.target.validPseudoMask), (n) => new Uint8Array(n)),
      meta: loaded.map((l) => l.target.meta) as SampleMeta[],
    },
  };
}

export class TrainLoader {
  private readonly pool: WorkerPool;
  private readonly pending = new Map<number, { promise: Promise<Assembled>; settled: boolean }>();
  private step: number;
  private readonly prefetch: number;

  constructor(private readonly opts: TrainLoaderOptions) {
    // Validate the split once, up front (throws ShardingError with the fix in the message).
    sliceForRank(new Array(opts.globalBatch).fill(0), opts.rank, opts.world);
    this.step = opts.startStep ?? 0;
    this.prefetch = Math.max(0, opts.prefetchSteps ?? 2);
    this.pool = new WorkerPool(opts.workers ?? 2, { train: opts.spec });
  }

  /** Loads one step's slice (not cached; for tests and tools). */
  async loadStep(step: number): Promise<Assembled> {
    const o = this.opts;
    const draws = sliceForRank(samplesForStep(o.space, o.spec.seed, step, o.globalBatch), o.rank, o.world);
    const loaded = await Promise.all(draws.map((draw) => this.pool.run<LoadedDraw>({ type: 'train-draw', draw, step })));
    return assembleBatch(step, loaded, draws.map((d) => d.globalIndex));
  }

  private schedule(step: number): void {
    if (this.pending.has(step)) return;
    const entry = { promise: this.loadStep(step), settled: false };
    // Errors surface when the step is consumed, not as unhandled rejections.
    entry.promise.then(() => (entry.settled = true), () => (entry.settled = true));
    this.pending.set(step, entry);
  }

  /** The batch of the next step. */
  async next(): Promise<TrainBatch> {
    const step = this.step++;
    for (let s = step; s <= step + this.prefetch; s++) this.schedule(s);
    const entry = this.pending.get(step)!;
    const t0 = performance.now();
    const wasReady = entry.settled;
    try {
      const assembled = await entry.promise;
      // Reported when the step is consumed, so prefetching never reports a step that is not used.
      for (const w of assembled.warnings) this.opts.onWarning?.(w);
      return { ...assembled, waitMs: wasReady ? 0 : performance.now() - t0 };
    } finally {
      this.pending.delete(step);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.pending.clear();
  }
}

/**
 * Validation samples for the given indices (e.g. valShard(n, rank, world)), in order, loading up to
 * `prefetch` images ahead on worker threads.
 */
export async function* valSamples(
  spec: ValDataSpec, indices: readonly number[], opts: { workers?: number; prefetch?: number } = {},
): AsyncGenerator<ValSample> {
  const pool = new WorkerPool(opts.workers ?? 2, { val: spec });
  const ahead = Math.max(1, opts.prefetch ?? 4);
  const queue: Promise<ValSample>[] = [];
  try {
    let next = 0;
    const fill = () => {
      while (next < indices.length && queue.length < ahead) {
        const p = pool.run<ValSample>({ type: 'val', index: indices[next++] });
        p.catch(() => undefined);
        queue.push(p);
      }
    };
    fill();
    while (queue.length > 0) {
      const sample = await queue.shift()!;
      fill();
      yield sample;
    }
  } finally {
    await pool.close();
  }
}
