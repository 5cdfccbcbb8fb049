// Sums per-variable gradients over several backward passes (micro-batches, or the
// several `.backward()` calls of one PiPa iteration) before one optimiser step.
//
// Convention: add(grads, weight) accumulates weight·grads. For a loss that is a MEAN
// over the samples of its micro-batch, pass weight = (micro-batch size)/(full batch
// size) — i.e. 1/k for k equal micro-batches — and the sum equals the gradient of the
// same loss over the full batch. For losses that are already summed into one
// objective (PyTorch calling backward() several times on different terms), pass 1.
// A variable that appears in no add() call is absent from the result (PyTorch: it got
// no gradient this iteration); AdamW decides what that means (see adamw.ts).
import * as tf from '@tensorflow/tfjs';

export class GradAccumulatorError extends Error {
  override name = 'GradAccumulatorError';
}

export class GradAccumulator {
  private sums = new Map<string, tf.Tensor>();
  private adds = 0;

  /** Number of add() calls since the last take()/reset(). */
  get count(): number {
    return this.adds;
  }

  /** Accumulate weight·g for every entry. The caller keeps ownership of `grads`. */
  add(grads: ReadonlyMap<string, tf.Tensor> | tf.NamedTensorMap, weight = 1): void {
    if (!Number.isFinite(weight)) throw new GradAccumulatorError(`GradAccumulator.add: weight must be finite, got ${weight}`);
    const entries = grads instanceof Map ? [...grads.entries()] : Object.entries(grads as tf.NamedTensorMap);
    // Validate everything first so a bad entry leaves the sums untouched.
    for (const [name, g] of entries) {
      const prev = this.sums.get(name);
      if (prev && !tf.util.arraysEqual(prev.shape, g.shape)) {
        throw new GradAccumulatorError(`GradAccumulator.add: '${name}' had shape [${prev.shape}], now [${g.shape}]`);
      }
    }
    for (const [name, g] of entries) {
      const prev = this.sums.get(name);
      const next = tf.tidy(() => {
        const scaled = weight === 1 ? g.clone() : tf.mul(g, weight);
        return prev ? tf.add(prev, scaled) : scaled;
      });
      prev?.dispose();
      this.sums.set(name, next);
    }
    this.adds += 1;
  }

  /** The accumulated gradients; ownership passes to the caller and the accumulator is emptied. */
  take(): Map<string, tf.Tensor> {
    const out = this.sums;
    this.sums = new Map();
    this.adds = 0;
    return out;
  }

  /** Drop everything accumulated so far. */
  reset(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.adds = 0;
  }

  dispose(): void {
    this.reset();
  }
}
