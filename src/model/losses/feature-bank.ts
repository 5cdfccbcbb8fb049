// FIFO bank of detached negative embeddings with their pseudo-labels, one entry per
// training step. CAC/PiPa keep the last step_save + 1 = 3 steps, the current one
// included (the step counter logic in dacs.py amounts exactly to that).
import * as tf from '@tensorflow/tfjs';
import type { NegativeKeys } from './contrast-negatives.js';

export class FeatureBankError extends Error {
  override name = 'FeatureBankError';
}

interface BankEntry {
  features: tf.Tensor2D;
  labels: Int32Array;
}

export class FeatureBank {
  private readonly entries: BankEntry[] = [];

  /** @param stepsKept how many steps stay in the bank (step_save + 1). */
  constructor(readonly stepsKept: number) {
    if (!(Number.isInteger(stepsKept) && stepsKept >= 1)) throw new FeatureBankError(`stepsKept must be a positive integer, got ${stepsKept}`);
  }

  /** Add one step's rows (a private copy is kept); drops the oldest step beyond stepsKept. */
  push(features: tf.Tensor2D, labels: Int32Array): void {
    if (features.shape[0] !== labels.length) {
      throw new FeatureBankError(`bank entry has ${features.shape[0]} rows but ${labels.length} labels`);
    }
    const dim = this.entries[0]?.features.shape[1];
    if (dim !== undefined && features.shape[1] !== dim) {
      throw new FeatureBankError(`bank entry has ${features.shape[1]} channels, the bank holds ${dim}`);
    }
    this.entries.push({ features: tf.keep(tf.clone(features)), labels: Int32Array.from(labels) });
    while (this.entries.length > this.stepsKept) this.entries.shift()!.features.dispose();
  }

  get steps(): number {
    return this.entries.length;
  }

  get rows(): number {
    return this.entries.reduce((s, e) => s + e.labels.length, 0);
  }

  /** All rows, oldest step first (the order the original concatenates); caller disposes `features`. */
  snapshot(): NegativeKeys {
    if (this.entries.length === 0) throw new FeatureBankError('the feature bank is empty');
    const labels = new Int32Array(this.rows);
    let at = 0;
    for (const e of this.entries) {
      labels.set(e.labels, at);
      at += e.labels.length;
    }
    const features = this.entries.length === 1 ? tf.clone(this.entries[0].features) : tf.concat(this.entries.map((e) => e.features), 0);
    return { features, labels };
  }

  clear(): void {
    for (const e of this.entries) e.features.dispose();
    this.entries.length = 0;
  }

  dispose(): void {
    this.clear();
  }
}
