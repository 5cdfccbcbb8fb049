// Learning rate per iteration: mmcv `poly` policy with linear warm-up, evaluated by
// iteration exactly as mmcv 1.3.7's LrUpdaterHook does before every train iteration
// (SPEC §4.2). Plain float64 arithmetic in mmcv's order of operations.

export interface PolyWarmupOptions {
  /** Base lr of the param group (6e-5 backbone; 6e-4 for `head` groups). */
  baseLr: number;
  /** Total iterations (60000 for PiPa). */
  maxIters: number;
  power?: number; // 1.0
  minLr?: number; // 0
  warmupIters?: number; // 1500
  warmupRatio?: number; // 1e-6
}

export class LrScheduleError extends Error {
  override name = 'LrScheduleError';
}

/**
 * lr for 0-based iteration `iter`:
 *   regular = (baseLr − minLr)·(1 − iter/maxIters)^power + minLr
 *   iter < warmupIters:  regular·(1 − (1 − iter/warmupIters)·(1 − warmupRatio))
 */
export function polyWarmupLr(iter: number, o: PolyWarmupOptions): number {
  const power = o.power ?? 1.0;
  const minLr = o.minLr ?? 0;
  const warmupIters = o.warmupIters ?? 1500;
  const warmupRatio = o.warmupRatio ?? 1e-6;
  if (!Number.isInteger(iter) || iter < 0) {
    throw new LrScheduleError(`polyWarmupLr: iteration must be a non-negative integer, got ${iter}`);
  }
  if (!(o.maxIters > 0)) throw new LrScheduleError(`polyWarmupLr: maxIters must be > 0, got ${o.maxIters}`);
  const coeff = (1 - iter / o.maxIters) ** power;
  const regular = (o.baseLr - minLr) * coeff + minLr;
  if (warmupIters > 0 && iter < warmupIters) {
    const k = (1 - iter / warmupIters) * (1 - warmupRatio);
    return regular * (1 - k);
  }
  return regular;
}
