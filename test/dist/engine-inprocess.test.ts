// Engine pieces that need no processes: evaluation summed over rank shards equals one
// process evaluating every image; the training state survives encode → load bit-exactly
// (a worker that starts from the committed state continues exactly as the committer would).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';
import { disposeBatch, tinyBatch, tinyConfig } from '../helpers/tiny-uda.js';
import { loadConfig } from '../../src/config/load.js';
import type { PipaConfig } from '../../src/config/schema.js';
import { ConfusionMatrix } from '../../src/common/confusion-matrix.js';
import { EvalAggregator } from '../../src/coordinator/eval-aggregator.js';
import { ensureSyntheticData } from '../../src/coordinator/synthetic-data.js';
import { silentLogger } from '../../src/common/logger.js';
import { openValData, valSamples, valShard } from '../../src/data/index.js';
import { drawStep } from '../../src/model/uda/step-draws.js';
import { UdaModel } from '../../src/model/uda/uda-model.js';
import { UdaTrainer } from '../../src/model/uda/uda-trainer.js';
import { evaluateSamples } from '../../src/worker/evaluate.js';
import { valPipelineOf } from '../../src/worker/data-options.js';
import { buildUdaModel, segmentorConfigOf, trainerOptionsOf } from '../../src/worker/model-options.js';
import { encodeTrainState, loadTrainState } from '../../src/worker/train-state.js';
import { ENGINE_CONFIG, tinyRunOverrides, tinySyntheticData } from './engine-fixture.js';

let dataDir = '';
before(async () => {
  await useTestBackend();
  dataDir = await tinySyntheticData();
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('eval: confusion counts of 2 and 3 rank shards, summed by the coordinator, equal one process over all images', async () => {
  const c = loadConfig(ENGINE_CONFIG, tinyRunOverrides(dataDir, 1)).config as PipaConfig;
  const model = new UdaModel(segmentorConfigOf(c), c.seed);
  await withLeakCheck(async () => {
    const val = openValData(c.data.val.root, { split: 'val', pipeline: valPipelineOf(c) });
    const n = val.spec.samples.length;
    const evalOf = (indices: number[]) =>
      evaluateSamples(model.segmentor, model.student, valSamples(val.spec, indices, { workers: 0 }), { numClasses: c.model.numClasses });
    const single = await evalOf(Array.from({ length: n }, (_, i) => i));
    assert.ok(single.total() > 0, 'the validation images have labelled pixels');
    for (const world of [2, 3]) {
      const agg = new EvalAggregator();
      let result = null;
      for (let rank = world - 1; rank >= 0; rank--) {
        const part = await evalOf(valShard(n, rank, world));
        // Through JSON, as over the wire.
        const confusion = ConfusionMatrix.fromJSON(JSON.parse(JSON.stringify(part.toJSON())));
        result = agg.add({ step: 5, generation: 1, rank, world, confusion, images: valShard(n, rank, world).length });
        if (rank > 0) assert.equal(result, null, 'incomplete until every rank reported');
      }
      assert.ok(result);
      assert.equal(result.images, n);
      assert.deepEqual(result.confusion.toJSON(), single.toJSON(), `world ${world}: summed counts equal the single-process counts`);
      assert.deepEqual(result.metrics, single.metrics());
      console.log(`  world ${world}: ${n} images, ${single.total()} pixels, mIoU ${(result.metrics.mIoU * 100).toFixed(2)} (identical to one process)`);
      assert.throws(() => agg.add({ step: 6, generation: 1, rank: world, world, confusion: single, images: 1 }), /rank/);
    }
  });
  model.dispose();
});

test('train state: encode → load into a fresh trainer gives identical stores, optimizer and next step', async () => {
  const c = tinyConfig(['schedule.warmupIters=0', 'optimizer.lr=0.002']);
  const make = () => new UdaTrainer(buildUdaModel({ ...c, seed: c.seed + 1 }), trainerOptionsOf(c));
  const a = make();
  const b = make();
  const batch = tinyBatch(4, 1);
  try {
    const step = (t: UdaTrainer) => t.step([{ batch, draws: drawStep(c.seed, t.iter, 0, t.model.segmentor, 64, 64, c.uda.blur) }]);
    await step(a);
    const blob = encodeTrainState(a);
    const info = loadTrainState(b, blob);
    assert.equal(info.iter, 1);
    assert.equal(b.iter, 1);
    for (const which of ['student', 'teacher'] as const) {
      for (const name of a.model[which].names()) {
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.cast(a.model[which].get(name), 'float32'), tf.cast(b.model[which].get(name), 'float32')))).dataSync()[0]);
        assert.equal(d, 0, `${which}.${name}`);
      }
    }
    const sa = a.optimizer.state();
    const sb = b.optimizer.state();
    assert.equal(sb.step, sa.step);
    assert.deepEqual([...sb.paramSteps], [...sa.paramSteps]);
    for (const [k, m] of sa.m) assert.deepEqual(sb.m.get(k), m, `m of ${k}`);
    const ra = await step(a);
    const rb = await step(b);
    console.log(`  state ${blob.length} bytes; next-step loss ${ra.logs.loss} vs ${rb.logs.loss}`);
    assert.equal(rb.logs.loss, ra.logs.loss, 'the loaded trainer continues bit-exactly');
    // A state from another model is refused, naming both layout hashes.
    const otherCfg = tinyConfig(['model.decoder.channels=8']);
    const other = new UdaTrainer(buildUdaModel(otherCfg), trainerOptionsOf(otherCfg));
    assert.throws(() => loadTrainState(other, blob), (e: Error) => e.name === 'CheckpointError' && e.message.includes(a.model.layoutHash()) && e.message.includes(other.model.layoutHash()));
    other.dispose();
    other.model.dispose();
  } finally {
    disposeBatch(batch);
    for (const t of [a, b]) {
      t.dispose();
      t.model.dispose();
    }
  }
});

test('synthetic data is generated and prepared on first use, then found', async () => {
  const out = mkdtempSync(join(tmpdir(), 'pipa-engine-first-use-'));
  try {
    const c = loadConfig(ENGINE_CONFIG, [
      `data.source.root=${join(out, 'gta')}`, `data.target.root=${join(out, 'cityscapes')}`, `data.val.root=${join(out, 'cityscapes')}`,
      'data.synthetic.n=3', 'data.synthetic.nVal=1', 'data.synthetic.size=[32, 64]',
    ]).config as PipaConfig;
    assert.equal(await ensureSyntheticData(c, silentLogger(), 1), 'generated');
    for (const root of [c.data.source.root, c.data.target.root]) assert.ok(existsSync(join(root, 'sample_class_stats.json')), root);
    assert.equal(await ensureSyntheticData(c, silentLogger(), 1), 'present');
    const bad = loadConfig(ENGINE_CONFIG, [`data.source.root=${join(out, 'elsewhere')}`]).config as PipaConfig;
    await assert.rejects(ensureSyntheticData(bad, silentLogger(), 1), /OUT\/gta/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
