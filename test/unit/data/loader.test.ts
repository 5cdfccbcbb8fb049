// The prefetching loader is deterministic for a given (seed, step): the same batches with worker
// threads or in-process, and the ranks of any world size together load exactly the world-1 batch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSynthDataset } from '../../../src/data/synth/generate.js';
import { prepareData } from '../../../src/data/prepare/prepare-data.js';
import { openTrainData, openValData } from '../../../src/data/train-data.js';
import { TrainLoader, valSamples } from '../../../src/data/loader.js';
import { valShard } from '../../../src/data/sharding.js';
import type { TrainBatch, DataWarning } from '../../../src/data/types.js';
import { tempDir } from './helpers.js';

let root = '';
let cleanup = () => {};

before(async () => {
  ({ dir: root, cleanup } = tempDir('loader'));
  await generateSynthDataset({ out: root, n: 6, nVal: 3, seed: 11, sourceSize: [80, 64], targetSize: [96, 48] });
  await prepareData('gta', join(root, 'gta'));
  await prepareData('cityscapes', join(root, 'cityscapes'));
});
after(() => cleanup());

function open() {
  return openTrainData({
    seed: 42,
    source: { kind: 'gta', root: join(root, 'gta'), pipeline: { resizeScale: [100, 80], crop: [48, 48] } },
    target: { root: join(root, 'cityscapes'), pipeline: { resizeScale: null, crop: [48, 48], pseudoMargins: [2, 6, 2, 2] } },
    rcs: { temperature: 0.01, minPixels: 50, minCropRatio: 2 },
  });
}

async function load(opts: { rank: number; world: number; workers: number; steps: number; startStep?: number; globalBatch?: number }, warnings?: DataWarning[]) {
  const data = open();
  const loader = new TrainLoader({ spec: data.spec, space: data.space, globalBatch: opts.globalBatch ?? 4, rank: opts.rank, world: opts.world, workers: opts.workers, startStep: opts.startStep, onWarning: (w) => warnings?.push(w) });
  const out: TrainBatch[] = [];
  try {
    for (let i = 0; i < opts.steps; i++) out.push(await loader.next());
  } finally {
    await loader.close();
  }
  return out;
}

function assertSame(a: TrainBatch, b: TrainBatch, what: string) {
  assert.equal(a.step, b.step, what);
  assert.deepEqual(a.globalIndices, b.globalIndices, what);
  assert.ok(Buffer.from(a.source.img.buffer).equals(Buffer.from(b.source.img.buffer)), `${what}: source images`);
  assert.ok(Buffer.from(a.source.label).equals(Buffer.from(b.source.label)), `${what}: labels`);
  assert.ok(Buffer.from(a.target.img.buffer).equals(Buffer.from(b.target.img.buffer)), `${what}: target images`);
  assert.ok(Buffer.from(a.target.validPseudoMask).equals(Buffer.from(b.target.validPseudoMask)), `${what}: masks`);
  assert.deepEqual(a.source.meta, b.source.meta, what);
  assert.deepEqual(a.target.meta, b.target.meta, what);
}

test('batches have the contract shapes and depend only on (seed, step): in-process = 2 worker threads, resume = replay', async () => {
  const inProcess = await load({ rank: 0, world: 1, workers: 0, steps: 4 });
  const b = inProcess[0];
  assert.deepEqual([b.size, b.height, b.width], [4, 48, 48]);
  assert.equal(b.source.img.length, 4 * 48 * 48 * 3);
  assert.equal(b.source.label.length, 4 * 48 * 48);
  assert.equal(b.target.validPseudoMask.length, 4 * 48 * 48);
  assert.ok(b.source.meta.every((m) => m.rcsClass !== null && m.resizedSize[0] === 80 && m.resizedSize[1] === 100));
  assert.notDeepEqual(inProcess[0].source.meta.map((m) => m.crop), inProcess[1].source.meta.map((m) => m.crop));
  const threaded = await load({ rank: 0, world: 1, workers: 2, steps: 4 });
  inProcess.forEach((x, i) => assertSame(x, threaded[i], `step ${i} workers 0 vs 2`));
  const resumed = await load({ rank: 0, world: 1, workers: 1, steps: 2, startStep: 2 });
  assertSame(resumed[0], inProcess[2], 'resume at step 2');
  assertSame(resumed[1], inProcess[3], 'resume at step 3');
});

test('ranks simulated in one process: world 2 and 4 slices concatenate to the world-1 batch', async () => {
  const single = await load({ rank: 0, world: 1, workers: 0, steps: 2 });
  for (const world of [2, 4]) {
    const ranks = await Promise.all(Array.from({ length: world }, (_, r) => load({ rank: r, world, workers: r === 0 ? 1 : 0, steps: 2 })));
    for (let s = 0; s < 2; s++) {
      const parts = ranks.map((r) => r[s]);
      assert.deepEqual(parts.flatMap((p) => p.globalIndices), single[s].globalIndices);
      const cat = (f: (p: TrainBatch) => Uint8Array | Float32Array) => Buffer.concat(parts.map((p) => Buffer.from(f(p).buffer, f(p).byteOffset, f(p).byteLength)));
      assert.ok(cat((p) => p.source.img).equals(Buffer.from(single[s].source.img.buffer)), `world ${world} step ${s} source`);
      assert.ok(cat((p) => p.target.img).equals(Buffer.from(single[s].target.img.buffer)), `world ${world} step ${s} target`);
      assert.ok(cat((p) => p.source.label).equals(Buffer.from(single[s].source.label)), `world ${world} step ${s} labels`);
    }
  }
});

test('a corrupt file is reported by path and replaced by the same deterministic re-draw everywhere', async () => {
  const bad = open().spec.target.samples[1].image;
  writeFileSync(bad, 'corrupt');
  try {
    const w0: DataWarning[] = [], w2: DataWarning[] = [];
    const a = await load({ rank: 0, world: 1, workers: 0, steps: 4 }, w0);
    const b = await load({ rank: 0, world: 1, workers: 2, steps: 4 }, w2);
    assert.ok(w0.length > 0 && w0.every((w) => w.path === bad), JSON.stringify(w0));
    assert.deepEqual(w0.map((w) => [w.step, w.globalIndex]).sort(), w2.map((w) => [w.step, w.globalIndex]).sort());
    a.forEach((x, i) => assertSame(x, b[i], `step ${i} with a corrupt file`));
    assert.ok(a.every((x) => x.target.meta.every((m) => m.path !== bad)));
  } finally {
    await generateSynthDataset({ out: root, n: 6, nVal: 3, seed: 11, sourceSize: [80, 64], targetSize: [96, 48] });
  }
});

test('validation samples: test pipeline image and label at file resolution, sharded without overlap', async () => {
  const { spec, missingLabels } = openValData(join(root, 'cityscapes'), { pipeline: { resizeScale: [192, 96] } });
  assert.equal(missingLabels.length, 0);
  assert.equal(spec.samples.length, 3);
  const got: number[] = [];
  for (let r = 0; r < 2; r++) {
    for await (const s of valSamples(spec, valShard(spec.samples.length, r, 2), { workers: r })) {
      assert.deepEqual([s.height, s.width, s.labelHeight, s.labelWidth], [96, 192, 48, 96]);
      assert.equal(s.img.length, 96 * 192 * 3);
      got.push(s.index);
    }
  }
  assert.deepEqual(got, [0, 1, 2]);
});
