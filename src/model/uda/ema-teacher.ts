// Mean-teacher weights (DACS._init_ema_weights / _update_ema). The teacher is a second
// ParamStore over the same specs as the student; only `kind === 'param'` entries are copied
// and averaged. BN running statistics are buffers: the teacher's evolve from its own forward
// passes (it runs BN in train mode when it makes pseudo-labels), never from the student's.
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../params.js';

/** DACS `alpha` (the cap of the EMA decay). */
export const EMA_ALPHA_MAX = 0.999;

export class EmaLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmaLayoutError';
  }
}

/** α_t = min(1 − 1/(iter+1), alphaMax), computed in float64 like the Python original. */
export function emaAlpha(iter: number, alphaMax = EMA_ALPHA_MAX): number {
  if (!Number.isInteger(iter) || iter < 1) throw new RangeError(`EMA update iteration must be an integer ≥ 1 (iteration 0 is initEma), got ${iter}`);
  return Math.min(1 - 1 / (iter + 1), alphaMax);
}

function checkSameLayout(teacher: ParamStore, student: ParamStore): void {
  if (teacher.layoutHash() !== student.layoutHash()) {
    const t = new Set(teacher.names());
    const missing = student.names().filter((n) => !t.has(n));
    throw new EmaLayoutError(
      `teacher and student stores are built from different specs` + (missing.length ? ` (teacher lacks ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})` : ''),
    );
  }
}

export interface InitEmaOptions {
  /**
   * Also copy buffers (BN running stats). The original copies parameters only and leaves the
   * teacher's freshly built buffers; set this when the teacher store holds arbitrary values
   * and you want it to start from the student's statistics instead.
   */
  copyBuffers?: boolean;
}

/** Iteration 0: teacher parameters := student parameters. */
export function initEma(teacher: ParamStore, student: ParamStore, o: InitEmaOptions = {}): void {
  checkSameLayout(teacher, student);
  teacher.copyFrom(student, (spec) => spec.kind === 'param' || o.copyBuffers === true);
}

/**
 * Iteration ≥ 1: θ_T ← α·θ_T + (1−α)·θ_S for every parameter (buffers untouched), with
 * α = emaAlpha(iter). Both factors are rounded to float32 once, as torch does with python
 * float scalars, so the result is bit-identical to the original on a float32 backend.
 */
export function updateEma(teacher: ParamStore, student: ParamStore, iter: number, alphaMax = EMA_ALPHA_MAX): number {
  checkSameLayout(teacher, student);
  const alpha = emaAlpha(iter, alphaMax);
  tf.tidy(() => {
    const keep = tf.scalar(alpha);
    const take = tf.scalar(1 - alpha);
    for (const spec of teacher.specs) {
      if (spec.kind !== 'param') continue;
      const t = teacher.get(spec.name);
      t.assign(tf.add(tf.mul(keep, t), tf.mul(take, student.get(spec.name))));
    }
  });
  return alpha;
}
