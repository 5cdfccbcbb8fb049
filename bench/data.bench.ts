// `npm run bench:data`: images/s of the training data pipeline at the original sizes — GTA-like
// 1914×1052 source (resize to 2560×1407, 1024² crop with cat_max_ratio, flip, RCS) and
// Cityscapes-like 2048×1024 target (1024² crop, flip, pseudo-label margins) — through the
// prefetching worker-thread loader, plus a per-stage CPU profile of one sample in this thread.
// Reference: a training step consumes 2 source + 2 target crops (SPEC §1.3), so the loader must
// deliver at least 4 crops per step time. Options: --quick, --workers N, --steps N, --files N.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { rngFor } from '../src/common/random.js';
import { generateSynthDataset } from '../src/data/synth/generate.js';
import { prepareData } from '../src/data/prepare/prepare-data.js';
import { openTrainData } from '../src/data/train-data.js';
import { TrainLoader } from '../src/data/loader.js';
import { readRgb, readTrainIds } from '../src/data/image-io.js';
import { sourceSample, targetSample } from '../src/data/pipelines.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const quick = process.argv.includes('--quick');
const files = arg('files', quick ? 1 : 8);
const steps = arg('steps', quick ? 2 : 12);
const workers = arg('workers', 2);
const globalBatch = 2;

const root = join(tmpdir(), `pipa-bench-data-${process.pid}`);
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

try {
  let t = performance.now();
  await generateSynthDataset({ out: root, n: files, nVal: 1, seed: 0, sourceSize: [1914, 1052], targetSize: [2048, 1024], nproc: quick ? 1 : 2 });
  await prepareData('gta', join(root, 'gta'), { nproc: quick ? 1 : 2 });
  await prepareData('cityscapes', join(root, 'cityscapes'), { nproc: quick ? 1 : 2 });
  console.log(`setup: ${files} GTA-like 1914×1052 + ${files} Cityscapes-like 2048×1024 images written and prepared in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Original pipelines and RCS settings (defaults), 1024² crops.
  const data = openTrainData({ seed: 0, source: { kind: 'gta', root: join(root, 'gta') }, target: { root: join(root, 'cityscapes') } });

  // Per-stage CPU profile of one source and one target sample in this thread.
  const src = data.spec.source.samples[0], tgt = data.spec.target.samples[0];
  const stage = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
    const c = process.cpuUsage();
    const r = await f();
    return [r, cpuMs(process.cpuUsage(c))];
  };
  const [img, decodeMs] = await stage(() => readRgb(src.image));
  const [label, labelMs] = await stage(() => readTrainIds(src.label!));
  const [, srcPipeMs] = await stage(() => sourceSample(img, label, data.spec.sourcePipeline, rngFor(0, 'bench'), { path: src.image, labelPath: src.label!, index: 0 }));
  const [timg, tdecodeMs] = await stage(() => readRgb(tgt.image));
  const [, tgtPipeMs] = await stage(() => targetSample(timg, data.spec.targetPipeline, rngFor(0, 'bench'), { path: tgt.image, index: 0 }));
  console.log(`one sample, CPU ms: source decode ${decodeMs.toFixed(0)} + label ${labelMs.toFixed(0)} + resize/crop/flip/normalise ${srcPipeMs.toFixed(0)}; target decode ${tdecodeMs.toFixed(0)} + crop/flip/normalise ${tgtPipeMs.toFixed(0)}`);

  const loader = new TrainLoader({ spec: data.spec, space: data.space, globalBatch, rank: 0, world: 1, workers, prefetchSteps: 2 });
  await loader.next(); // worker start-up and first step are not timed
  t = performance.now();
  const cpu0 = process.cpuUsage();
  for (let s = 0; s < steps; s++) await loader.next();
  const sec = (performance.now() - t) / 1000;
  // process.cpuUsage covers all threads of this process (main + workers).
  const cpuSec = cpuMs(process.cpuUsage(cpu0)) / 1000;
  await loader.close();
  const crops = steps * globalBatch * 2;
  const perCrop = (1000 * cpuSec) / crops;
  console.log(`loader (${workers} worker threads, batch ${globalBatch}+${globalBatch} crops of 1024²): ${steps} steps in ${sec.toFixed(2)} s; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`);
  console.log(`images/s: ${(crops / sec).toFixed(2)} (source ${(crops / 2 / sec).toFixed(2)}, target ${(crops / 2 / sec).toFixed(2)})`);
  console.log(`CPU per crop: ${perCrop.toFixed(0)} ms (all threads) → ${((1000 * Math.min(workers, cpus().length)) / perCrop).toFixed(1)} images/s on ${Math.min(workers, cpus().length)} idle cores`);
  console.log(`sustains ${(steps / sec).toFixed(2)} training steps/s here, i.e. a step may take ≥ ${(sec / steps).toFixed(2)} s without waiting for data`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
