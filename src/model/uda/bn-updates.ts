// Applying BatchNorm running-statistic updates collected during a forward pass
// (layers/norm.ts pushes one BnUpdate per batch-mode BN call, in call order).
// PyTorch updates after every call: r ← (1−m)·r + m·batch, num_batches_tracked += 1;
// applying the list in order reproduces that exactly, including a layer called twice.
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../params.js';
import type { BnUpdate } from '../layers/forward-mode.js';
import { BN_MOMENTUM } from '../layers/norm.js';

export function applyBnUpdates(store: ParamStore, updates: readonly BnUpdate[], momentum = BN_MOMENTUM): void {
  tf.tidy(() => {
    const keep = tf.scalar(1 - momentum);
    const take = tf.scalar(momentum);
    for (const u of updates) {
      const mean = store.get(`${u.prefix}.running_mean`);
      const v = store.get(`${u.prefix}.running_var`);
      mean.assign(tf.add(tf.mul(mean, keep), tf.mul(u.mean, take)));
      v.assign(tf.add(tf.mul(v, keep), tf.mul(u.varUnbiased, take)));
      const n = store.get(`${u.prefix}.num_batches_tracked`);
      n.assign(tf.add(n, tf.scalar(1, 'int32')));
    }
  });
}

/** Frees the kept statistics of a list of updates. */
export function disposeBnUpdates(updates: BnUpdate[]): void {
  for (const u of updates) {
    u.mean.dispose();
    u.varUnbiased.dispose();
  }
  updates.length = 0;
}
