import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';
import { disposeBatch, tinyBatch, tinyConfig } from '../helpers/tiny-uda.js';
import { buildUdaModel, trainerOptionsOf } from '../../src/worker/model-options.js';
import { UdaTrainer } from '../../src/model/uda/uda-trainer.js';
import { drawStep } from '../../src/model/uda/step-draws.js';
import { initEma } from '../../src/model/uda/ema-teacher.js';
import { pseudoLabels } from '../../src/model/uda/pseudo-label.js';
import type { PatchContext } from '../../src/model/uda/uda-step.js';

const patchOverrides = (mode: string) => [`pipa.patch.mode=${mode}`, 'pipa.patch.startIter=0', 'pipa.patch.cropSize=64', 'pipa.patch.negativesPerView=64', 'pipa.patch.posThreshold=0.0'];

for (const mode of ['intent', 'code-exact'] as const) {
  test(`patch contrast (${mode}): where its gradient goes`, async () => {
    await useTestBackend();
    const c = tinyConfig(patchOverrides(mode));
    const model = buildUdaModel(c);
    const { patch } = trainerOptionsOf(c);
    assert.ok(patch, 'patch term enabled by the config');
    initEma(model.teacher, model.student);
    const batch = tinyBatch(5, 2, 96);
    const draws = drawStep(0, 0, 0, model.segmentor, 96, 96, true);
    await withLeakCheck(() => {
      const pl = tf.tidy(() => {
        const r = pseudoLabels(model.segmentor.encodeDecode(model.teacher, batch.tgtImg, { bn: 'running', stochastic: false }));
        tf.dispose(r.weight);
        return { label: r.label, prob: r.prob };
      });
      const ctx: PatchContext = { model, batch, draws, mode: { bn: 'batch', stochastic: false }, pseudoLabel: pl.label, pseudoProb: pl.prob };
      patch.term.prepare?.(ctx);
      const vars = model.trainable().map(([, v]) => v);
      const names = new Map(model.trainable().map(([n, v]) => [v.name, n]));
      const { value, grads } = tf.variableGrads(() => patch.term.loss(ctx).loss, vars);
      patch.term.finish?.();
      const loss = value.dataSync()[0];
      const nonZero = Object.entries(grads)
        .filter(([, g]) => g && tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0)
        .map(([v]) => names.get(v)!);
      console.log(`  ${mode}: loss ${loss.toFixed(5)}; ${nonZero.length} parameters get a gradient, e.g. ${nonZero.slice(0, 3).join(', ')}`);
      assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
      if (mode === 'intent') {
        assert.ok(nonZero.some((n) => n.startsWith('backbone.')), 'reaches the MiT encoder');
        assert.ok(nonZero.some((n) => n.startsWith('decode_head.')), 'reaches the decoder');
      } else {
        assert.deepEqual(nonZero.filter((n) => !n.startsWith('project.')), [], 'code-exact: only project.* learns');
        assert.ok(nonZero.includes('project.0.weight'));
      }
      tf.dispose([value, ...Object.values(grads).filter((g): g is tf.Tensor => g !== null), pl.label, pl.prob]);
      patch.term.dispose?.(); // frees the feature bank (code-exact) inside the leak check
    });
    disposeBatch(batch);
    model.dispose();
  });
}

test('a trainer step with the patch loss on logs it and stays finite', async () => {
  await useTestBackend();
  const c = tinyConfig(patchOverrides('intent'));
  const t = new UdaTrainer(buildUdaModel(c), trainerOptionsOf(c));
  const batch = tinyBatch(6, 2, 96);
  for (let s = 0; s < 2; s++) {
    const r = await t.step([{ batch, draws: drawStep(0, s, 0, t.model.segmentor, 96, 96, true) }]);
    assert.ok(Number.isFinite(r.logs.loss));
    assert.ok(r.logs['mix.loss_patch'] > 0, `patch loss logged: ${r.logs['mix.loss_patch']}`);
  }
  disposeBatch(batch);
  t.dispose();
  t.model.dispose();
});

test('a trainer with the patch loss on refuses a model built without patch heads', async () => {
  await useTestBackend();
  const c = tinyConfig(patchOverrides('intent'));
  const { UdaModel } = await import('../../src/model/uda/uda-model.js');
  const { segmentorConfigOf } = await import('../../src/worker/model-options.js');
  const bare = new UdaModel(segmentorConfigOf(c), 0);
  const opts = trainerOptionsOf(c);
  assert.throws(() => new UdaTrainer(bare, opts), /no patch heads/);
  opts.patch?.term.dispose?.();
  bare.dispose();
});
