// Synthetic domain-shift dataset: deterministic from the seed, written in the GTA/Cityscapes layouts
// the real readers/prepare-data/RCS consume, plausible layouts with rare classes rare, and an
// appearance shift that costs a source-trained classifier much of its accuracy (dialled by style).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rngFor } from '../../../src/common/random.js';
import { generateSynthDataset, synthJobs } from '../../../src/data/synth/generate.js';
import { generateScene } from '../../../src/data/synth/scene.js';
import { renderScene } from '../../../src/data/synth/render.js';
import { parseStyle, PLAIN_STYLE } from '../../../src/data/synth/style.js';
import { prepareData } from '../../../src/data/prepare/prepare-data.js';
import { openTrainData } from '../../../src/data/train-data.js';
import { decodePng } from '../../../src/data/png/decode.js';
import { CITYSCAPES_ID_TO_TRAIN, lookupTable, mapLabels, NUM_CLASSES } from '../../../src/data/labels.js';
import { SynthStyleError } from '../../../src/data/errors.js';
import { tempDir } from './helpers.js';

const LUT = lookupTable(CITYSCAPES_ID_TO_TRAIN, 256);

test('styles: presets expand, later atoms override, bad specs are named errors', () => {
  const city = parseStyle('city');
  assert.ok(city.palette > 0.5);
  assert.ok(city.blur > 0 && city.noise > 0);
  assert.equal(parseStyle('city+blur:0').blur, 0);
  assert.deepEqual(parseStyle('plain'), PLAIN_STYLE);
  assert.equal(parseStyle('game+palette:0.3+noise').noise, 8);
  assert.throws(() => parseStyle('city+sepia'), (e: Error) => e instanceof SynthStyleError && /sepia/.test(e.message) && /blur/.test(e.message));
  assert.throws(() => parseStyle('noise:-1'), SynthStyleError);
});

test('deterministic from the seed (in-process and with worker threads), different for another seed', async () => {
  const a = tempDir('synth-a'), b = tempDir('synth-b'), c = tempDir('synth-c');
  try {
    const opts = { n: 3, nVal: 1, width: 64, height: 48 };
    await generateSynthDataset({ out: a.dir, seed: 5, ...opts });
    await generateSynthDataset({ out: b.dir, seed: 5, nproc: 2, ...opts });
    await generateSynthDataset({ out: c.dir, seed: 6, ...opts });
    const { jobs } = synthJobs({ out: '', seed: 5, ...opts });
    assert.equal(jobs.length, 3 + 3 + 1);
    let differ = 0;
    for (const j of jobs) {
      for (const p of [j.imagePath, j.labelPath]) {
        assert.ok(readFileSync(join(a.dir, p)).equals(readFileSync(join(b.dir, p))), `${p} identical`);
        if (!readFileSync(join(a.dir, p)).equals(readFileSync(join(c.dir, p)))) differ++;
      }
    }
    assert.ok(differ >= jobs.length, `another seed changes the files (${differ} differ)`);
    assert.ok(readFileSync(join(a.dir, 'synth.json')).equals(readFileSync(join(b.dir, 'synth.json'))));
  } finally {
    a.cleanup();
    b.cleanup();
    c.cleanup();
  }
});

test('written in the GTA and Cityscapes layouts: prepare-data, the readers and RCS run on it', async () => {
  const { dir, cleanup } = tempDir('synth-layout');
  try {
    const s = await generateSynthDataset({ out: dir, n: 8, nVal: 2, seed: 1, width: 96, height: 64 });
    assert.equal(s.source.images, 8);
    const gtaLabel = decodePng(readFileSync(join(dir, 'gta/labels/00001.png')));
    assert.equal(gtaLabel.colorType, 3, 'GTA labels are palette PNGs');
    assert.ok((gtaLabel.samples as Uint8Array).every((v) => v <= 33));
    const csLabel = decodePng(readFileSync(join(dir, 'cityscapes/gtFine/train/ashford/ashford_000000_000000_gtFine_labelIds.png')));
    assert.deepEqual([csLabel.colorType, csLabel.bitDepth, csLabel.width, csLabel.height], [0, 8, 96, 64]);
    const p1 = await prepareData('gta', join(dir, 'gta'));
    const p2 = await prepareData('cityscapes', join(dir, 'cityscapes'));
    assert.deepEqual([p1.converted, p1.failed.length, p2.converted, p2.failed.length], [8, 0, 10, 0]);
    const data = openTrainData({ seed: 0, source: { kind: 'gta', root: join(dir, 'gta') }, target: { root: join(dir, 'cityscapes') }, rcs: { temperature: 0.01, minPixels: 30, minCropRatio: 2 } });
    assert.equal(data.space.sourceCount, 8);
    assert.equal(data.space.targetCount, 8);
    assert.ok(data.space.rcs!.classes.length >= 8, `RCS classes: ${data.space.rcs!.classes}`);
  } finally {
    cleanup();
  }
});

/** Per-class pixel shares and the mean row (0 top … 1 bottom) of each class over many scenes. */
function layoutStats(domain: string, n: number, W: number, H: number) {
  const count = new Float64Array(NUM_CLASSES), rowSum = new Float64Array(NUM_CLASSES);
  const present = new Float64Array(NUM_CLASSES);
  for (let i = 0; i < n; i++) {
    const t = mapLabels(generateScene(rngFor(3, 'synth', domain, 'train', i, 'layout'), W, H).ids, LUT);
    const seen = new Set<number>();
    for (let p = 0; p < t.length; p++) {
      const c = t[p];
      if (c === 255) continue;
      count[c]++;
      rowSum[c] += Math.floor(p / W) / H;
      seen.add(c);
    }
    for (const c of seen) present[c]++;
  }
  const total = count.reduce((a, b) => a + b, 0);
  return { share: [...count].map((c) => c / total), meanRow: [...rowSum].map((r, c) => r / Math.max(1, count[c])), present: [...present].map((p) => p / n) };
}

test('layouts: sky on top, road at the bottom, objects on the ground, rare classes rare; same distribution in both domains', () => {
  const s = layoutStats('source', 150, 128, 128), t = layoutStats('target', 150, 128, 128);
  const [road, sky, car, person, train, rider, building] = [0, 10, 13, 11, 16, 12, 2];
  assert.ok(s.meanRow[sky] < 0.3 && s.meanRow[road] > 0.6, `mean rows sky ${s.meanRow[sky]} road ${s.meanRow[road]}`);
  assert.ok(s.meanRow[car] > 0.45 && s.meanRow[person] > 0.4);
  assert.ok(s.share[road] > 0.15 && s.share[building] > 0.1);
  assert.ok(s.share[train] < 0.01 && s.share[rider] < 0.01 && s.share[person] < s.share[car]);
  assert.ok(s.present[train] < 0.15 && s.present[road] === 1);
  let tv = 0;
  for (let c = 0; c < NUM_CLASSES; c++) tv += Math.abs(s.share[c] - t.share[c]) / 2;
  console.log('class shares (source):', s.share.map((x) => x.toFixed(3)).join(' '), `| TV(source, target) = ${tv.toFixed(3)}`);
  assert.ok(tv < 0.05, `source and target layouts share a distribution (TV ${tv})`);
});

/** mIoU of a nearest-class-mean colour classifier trained on `train` scenes, evaluated on `test` scenes. */
function colourClassifierMiou(trainStyle: string, testStyle: string): number {
  const W = 96, H = 96;
  const scenes = (domain: string, style: string, from: number, n: number) =>
    Array.from({ length: n }, (_, k) => {
      const i = from + k;
      const scene = generateScene(rngFor(9, 'synth', domain, 'train', i, 'layout'), W, H);
      return { label: mapLabels(scene.ids, LUT), rgb: renderScene(scene, parseStyle(style), rngFor(9, 'synth', domain, 'train', i, 'look')) };
    });
  const sum = new Float64Array(NUM_CLASSES * 3), cnt = new Float64Array(NUM_CLASSES);
  for (const { label, rgb } of scenes('source', trainStyle, 0, 30))
    for (let p = 0; p < label.length; p++) {
      const c = label[p];
      if (c === 255) continue;
      cnt[c]++;
      for (let k = 0; k < 3; k++) sum[c * 3 + k] += rgb[p * 3 + k];
    }
  const inter = new Float64Array(NUM_CLASSES), union = new Float64Array(NUM_CLASSES);
  for (const { label, rgb } of scenes('target', testStyle, 100, 20))
    for (let p = 0; p < label.length; p++) {
      const c = label[p];
      if (c === 255) continue;
      let best = -1, bestD = Infinity;
      for (let q = 0; q < NUM_CLASSES; q++) {
        if (cnt[q] === 0) continue;
        let d = 0;
        for (let k = 0; k < 3; k++) d += (rgb[p * 3 + k] - sum[q * 3 + k] / cnt[q]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = q;
        }
      }
      if (best === c) inter[c]++;
      union[c]++;
      if (best !== c) union[best]++;
    }
  const ious = [...union].map((u, c) => (u > 0 ? inter[c] / u : NaN)).filter((x) => !Number.isNaN(x));
  return ious.reduce((a, b) => a + b, 0) / ious.length;
}

test('appearance shift: a source-trained colour classifier loses most of its mIoU on the target; the shift is dialled by the style', () => {
  const inDomain = colourClassifierMiou('game', 'game');
  const small = colourClassifierMiou('game', 'game+noise:6+blur:1');
  const half = colourClassifierMiou('game', 'game+palette:0.5');
  const full = colourClassifierMiou('game', 'city');
  console.log(`colour-classifier mIoU: source→source ${(100 * inDomain).toFixed(1)}, →noise+blur ${(100 * small).toFixed(1)}, →palette 0.5 ${(100 * half).toFixed(1)}, →city ${(100 * full).toFixed(1)}`);
  assert.ok(inDomain > 0.3, 'in-domain accuracy is meaningful');
  assert.ok(full < 0.5 * inDomain, 'the default shift costs more than half of the in-domain mIoU');
  assert.ok(small > half && half > full, 'larger style differences give larger drops');
});

test('speed: 256² images per second (printed)', async () => {
  const { dir, cleanup } = tempDir('synth-speed');
  try {
    const cpu0 = process.cpuUsage();
    const s = await generateSynthDataset({ out: dir, n: 20, nVal: 4, seed: 2 });
    const cpu = process.cpuUsage(cpu0);
    const images = 44;
    console.log(`synth: ${images} images 256² in ${s.seconds.toFixed(2)} s wall = ${s.imagesPerSecond.toFixed(1)} images/s; ${((cpu.user + cpu.system) / 1000 / images).toFixed(1)} ms CPU per image`);
    assert.ok(s.imagesPerSecond > 0);
  } finally {
    cleanup();
  }
});
