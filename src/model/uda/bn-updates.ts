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

/**
 * The running statistics a store WOULD hold after applying `updates` in order, starting
 * from its current values — on the host, without changing the store. Keys are
 * `${tag}:${buffer name}`. Each micro-batch (on each rank) computes this from the same
 * step-start statistics; the step then assigns their average, which makes the result
 * independent of how the global batch is split across workers.
 */
export function runningStatsAfter(store: ParamStore, updates: readonly BnUpdate[], tag: string, momentum = BN_MOMENTUM): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const current = (name: string): Float32Array => {
    const key = `${tag}:${name}`;
    let v = out.get(key);
    if (!v) {
      v = Float32Array.from(store.get(name).dataSync());
      out.set(key, v);
    }
    return v;
  };
  for (const s of store.specs) if (s.kind === 'buffer' && /running_(mean|var)$/.test(s.name)) current(s.name);
  const keep = Math.fround(1 - momentum);
  const take = Math.fround(momentum);
  for (const u of updates) {
    for (const [suffix, t] of [['running_mean', u.mean], ['running_var', u.varUnbiased]] as const) {
      const r = current(`${u.prefix}.${suffix}`);
      const b = t.dataSync();
      for (let i = 0; i < r.length; i++) r[i] = Math.fround(Math.fround(r[i] * keep) + Math.fround(b[i] * take));
    }
  }
  return out;
}

/** num_batches_tracked += (number of BN calls of one micro-batch) for every layer. */
export function bumpBatchesTracked(store: ParamStore, updates: readonly BnUpdate[]): void {
  const counts = new Map<string, number>();
  for (const u of updates) counts.set(u.prefix, (counts.get(u.prefix) ?? 0) + 1);
  tf.tidy(() => {
    for (const [prefix, n] of counts) {
      const v = store.get(`${prefix}.num_batches_tracked`);
      v.assign(tf.add(v, tf.scalar(n, 'int32')));
    }
  });
}
