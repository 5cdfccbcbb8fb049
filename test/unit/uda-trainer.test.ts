import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';
import { disposeBatch, sliceBatch, tinyBatch, tinyConfig } from '../helpers/tiny-uda.js';
import { UdaModel } from '../../src/model/uda/uda-model.js';
import { UdaTrainer } from '../../src/model/uda/uda-trainer.js';
import { drawStep } from '../../src/model/uda/step-draws.js';
import { udaStep } from '../../src/model/uda/uda-step.js';
import { BatchError } from '../../src/model/uda/batch-check.js';
import { buildUdaModel, segmentorConfigOf, trainerOptionsOf } from '../../src/worker/model-options.js';
import type { PipaConfig } from '../../src/config/schema.js';

function makeTrainer(c: PipaConfig): UdaTrainer {
  return new UdaTrainer(buildUdaModel(c), trainerOptionsOf(c));
}

function dispose(t: UdaTrainer) {
  t.dispose();
  t.model.dispose();
}

function maxWeightDiff(a: UdaTrainer, b: UdaTrainer): number {
  let m = 0;
  for (const [name, v] of a.model.student.trainable()) {
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(v, b.model.student.get(name)))).dataSync()[0]);
    m = Math.max(m, d);
  }
  return m;
}

/** A reduce for n in-process "ranks": resolves every caller with the mean once all n buffers arrived. */
function barrierMean(n: number): (buf: Float32Array) => Promise<Float32Array> {
  let pending: Array<{ buf: Float32Array; resolve: (b: Float32Array) => void }> = [];
  return (buf) =>
    new Promise((resolve) => {
      pending.push({ buf, resolve });
      if (pending.length < n) return;
      const mean = new Float32Array(buf.length);
      for (const p of pending) for (let i = 0; i < mean.length; i++) mean[i] += p.buf[i];
      for (let i = 0; i < mean.length; i++) mean[i] /= n;
      const waiting = pending;
      pending = [];
      for (const p of waiting) p.resolve(mean);
    });
}

test('1 worker with 2 micro-batches equals 2 workers with 1 each (weights, losses); same seed is bitwise identical', async () => {
  await useTestBackend();
  // No warm-up and a large lr so that three steps move the weights measurably.
  const c = tinyConfig(['schedule.warmupIters=0', 'optimizer.lr=0.002']);
  await withLeakCheck(async () => {
    const single = makeTrainer(c);
    const again = makeTrainer(c);
    const ranks = [makeTrainer(c), makeTrainer(c)];
    const full = tinyBatch(1, 2);
    const micro = [sliceBatch(full, 0, 1), sliceBatch(full, 1, 1)];
    const initial = makeTrainer(c);
    try {
      for (let s = 0; s < 3; s++) {
        const draws = (m: number) => drawStep(c.seed, s, m, single.model.segmentor, 64, 64, c.uda.blur);
        const one = await single.step(micro.map((b, m) => ({ batch: b, draws: draws(m) })));
        const rep = await again.step(micro.map((b, m) => ({ batch: b, draws: draws(m) })));
        const reduce = barrierMean(2);
        const two = await Promise.all(ranks.map((t, r) => t.step([{ batch: micro[r], draws: draws(r) }], reduce)));
        assert.equal(one.logs.loss, rep.logs.loss, 'same seed, same process: bitwise equal loss');
        const dW = maxWeightDiff(single, ranks[0]);
        const moved = maxWeightDiff(single, initial);
        const dLoss = Math.abs(one.logs.loss - two[0].logs.loss);
        console.log(`  step ${s}: loss ${one.logs.loss.toFixed(6)} vs ${two[0].logs.loss.toFixed(6)}; weights moved ${moved.toExponential(2)}, max|ΔW| 1 vs 2 workers ${dW.toExponential(2)}`);
        assert.ok(moved > 1e-3, 'the test must actually train');
        assert.ok(dW < 1e-5, `weights differ by ${dW}`);
        assert.ok(dLoss < 1e-5 * Math.abs(one.logs.loss), `losses differ by ${dLoss}`);
        assert.equal(maxWeightDiff(ranks[0], ranks[1]), 0, 'ranks stay bitwise identical');
        assert.equal(maxWeightDiff(single, again), 0, 'reruns are bitwise identical');
      }
    } finally {
      for (const t of [single, again, initial, ...ranks]) dispose(t);
      for (const b of [full, ...micro]) disposeBatch(b);
    }
  });
});

test('50 consecutive steps keep the tensor count flat', async () => {
  await useTestBackend();
  const c = tinyConfig();
  const t = makeTrainer(c);
  const batch = tinyBatch(2, 2);
  let after5 = 0;
  const rss: number[] = [];
  for (let s = 0; s < 50; s++) {
    const r = await t.step([{ batch, draws: drawStep(c.seed, s, 0, t.model.segmentor, 64, 64, c.uda.blur) }]);
    assert.ok(Number.isFinite(r.logs.loss), `step ${s} loss ${r.logs.loss}`);
    if (s === 4) after5 = tf.memory().numTensors;
    if (s % 10 === 9) rss.push(Math.round(process.memoryUsage().rss / 2 ** 20));
  }
  const after50 = tf.memory().numTensors;
  console.log(`  numTensors after step 5: ${after5}, after step 50: ${after50}; RSS MiB every 10 steps: ${rss.join(', ')}`);
  assert.equal(after50, after5);
  disposeBatch(batch);
  dispose(t);
});

test('a bad batch is rejected before any compute, naming the problem', async () => {
  await useTestBackend();
  const c = tinyConfig();
  const model = new UdaModel(segmentorConfigOf(c), 0);
  const opts = trainerOptionsOf(c).step;
  const draws = drawStep(0, 0, 0, model.segmentor, 64, 64, true);
  await withLeakCheck(() => {
    const good = tinyBatch(3, 1);
    const cases: Array<[string, () => Parameters<typeof udaStep>[1], RegExp]> = [
      ['label out of range', () => ({ ...good, srcLabel: tf.fill([1, 64, 64], 19, 'int32') as tf.Tensor3D }), /source label 19 at image 0, row 0, col 0 is outside 0\.\.18/],
      ['size mismatch', () => ({ ...good, srcLabel: tf.zeros([1, 32, 64], 'int32') as tf.Tensor3D }), /do not match source images/],
      ['empty target', () => ({ ...good, tgtImg: tf.zeros([0, 64, 64, 3]) as tf.Tensor4D }), /empty target batch/],
    ];
    for (const [what, make, re] of cases) {
      const bad = make();
      assert.throws(() => udaStep(model, bad, draws, opts), (e: Error) => e instanceof BatchError && re.test(e.message), what);
      for (const t of [bad.srcLabel, bad.tgtImg]) if (t !== good.srcLabel && t !== good.tgtImg) t.dispose();
    }
    disposeBatch(good);
  });
  model.dispose();
});
