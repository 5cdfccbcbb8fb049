// Rare Class Sampling: class probabilities (SPEC §4.4) against an independent computation, the
// > min_pixels file filter, and the sampling frequencies of samplesForStep on generated statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { classCounts, loadRcsTable, rcsClassProbabilities, writeRcsFiles, type ClassStatsEntry } from '../../../src/data/rcs.js';
import { samplesForStep } from '../../../src/data/sharding.js';
import { rngFor } from '../../../src/common/random.js';
import { tempDir } from './helpers.js';

/** Generated label statistics: class c appears in a file with probability decreasing in c. */
function generatedEntries(nFiles: number, seed: number): ClassStatsEntry[] {
  const rng = rngFor(seed, 'stats');
  return Array.from({ length: nFiles }, (_, i) => {
    const label = new Uint8Array(200 * 100);
    for (let k = 0; k < label.length; k++) {
      const u = rng.random();
      label[k] = u < 0.02 ? 255 : Math.min(18, Math.floor(-Math.log(1 - rng.random()) * 3)); // geometric-ish: class 0 common, 18 rare
    }
    return { file: `data/gta/labels/${String(i + 1).padStart(5, '0')}_labelTrainIds.png`, counts: classCounts(label) };
  });
}

test('class probabilities: f_c = n_c/Σn over classes present, P = softmax((1 − f)/T), classes sorted by count', () => {
  const entries = generatedEntries(6, 1);
  const totals = new Map<number, number>();
  for (const e of entries) for (const [c, n] of e.counts) totals.set(c, (totals.get(c) ?? 0) + n);
  const sum = [...totals.values()].reduce((a, b) => a + b, 0);
  for (const T of [0.01, 0.1, 1]) {
    const { classes, probs } = rcsClassProbabilities(entries, T);
    assert.deepEqual([...classes].sort((a, b) => a - b), [...totals.keys()].sort((a, b) => a - b));
    for (let k = 1; k < classes.length; k++) assert.ok(totals.get(classes[k - 1])! <= totals.get(classes[k])!, 'ascending totals');
    const z = [...totals.values()].reduce((a, n) => a + Math.exp((1 - n / sum) / T), 0);
    classes.forEach((c, k) => {
      const expected = Math.exp((1 - totals.get(c)! / sum) / T) / z;
      assert.ok(Math.abs(probs[k] - expected) <= 1e-12 + 1e-9 * expected, `T=${T} class ${c}: ${probs[k]} vs ${expected}`);
    });
    console.log(`T=${T}: P(rarest=${classes[0]}) = ${probs[0].toFixed(4)}, P(commonest=${classes.at(-1)}) = ${probs.at(-1)!.toFixed(4)}`);
  }
});

test('RCS table: files need MORE than min_pixels of the class; classes without such a file are dropped', async () => {
  const { dir, cleanup } = tempDir('rcs');
  try {
    const entries: ClassStatsEntry[] = [
      { file: 'x/labels/00001_labelTrainIds.png', counts: [[0, 9000], [5, 3000]] }, // exactly 3000 → not enough
      { file: 'x/labels/00002_labelTrainIds.png', counts: [[0, 8000], [5, 3001], [6, 10]] },
      { file: 'x/labels/00003_labelTrainIds.png', counts: [[0, 7000], [2, 4000]] },
    ];
    await writeRcsFiles(dir, entries);
    const samples = ['00001', '00002', '00003'].map((n) => ({ image: join(dir, `images/${n}.png`), label: join(dir, `labels/${n}_labelTrainIds.png`) }));
    const t = loadRcsTable(dir, 'gta', samples, { temperature: 0.01, minPixels: 3000, minCropRatio: 2 });
    const byClass = new Map(t.classes.map((c, k) => [c, t.samplesByClass[k]]));
    assert.deepEqual(byClass.get(5), [1]);
    assert.deepEqual(byClass.get(0), [0, 1, 2]);
    assert.deepEqual(byClass.get(2), [2]);
    assert.deepEqual(t.excludedClasses, [6]);
    assert.ok(Math.abs(t.probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  } finally {
    cleanup();
  }
});

test('samplesForStep draws RCS classes with P and files uniformly among the qualifying ones', async () => {
  const { dir, cleanup } = tempDir('rcs-freq');
  try {
    const entries = generatedEntries(12, 2);
    await writeRcsFiles(dir, entries);
    const samples = entries.map((e) => ({ image: e.file.replace('labels', 'images'), label: e.file }));
    const table = loadRcsTable(dir, 'gta', samples, { temperature: 0.1, minPixels: 100, minCropRatio: 2 });
    const space = { sourceCount: samples.length, targetCount: 7, rcs: table };
    const classHits = new Map<number, number>();
    const fileHits = new Map<string, number>();
    const targetHits = new Array(7).fill(0);
    const steps = 2500, batch = 4, n = steps * batch;
    for (let s = 0; s < steps; s++) {
      for (const d of samplesForStep(space, 5, s, batch)) {
        classHits.set(d.source.rcsClass!, (classHits.get(d.source.rcsClass!) ?? 0) + 1);
        fileHits.set(`${d.source.rcsClass}/${d.source.index}`, (fileHits.get(`${d.source.rcsClass}/${d.source.index}`) ?? 0) + 1);
        assert.ok(table.samplesByClass[table.classes.indexOf(d.source.rcsClass!)].includes(d.source.index));
        targetHits[d.target.index]++;
      }
    }
    let worst = 0;
    table.classes.forEach((c, k) => {
      const p = table.probs[k], sd = Math.sqrt(n * p * (1 - p)) + 1;
      const z = Math.abs((classHits.get(c) ?? 0) - n * p) / sd;
      worst = Math.max(worst, z);
      assert.ok(z < 5, `class ${c}: ${classHits.get(c) ?? 0} draws, expected ${(n * p).toFixed(0)}`);
      // Files of one class: uniform.
      const files = table.samplesByClass[k];
      const hits = files.map((f) => fileHits.get(`${c}/${f}`) ?? 0);
      const m = (classHits.get(c) ?? 0) / files.length;
      if (m > 50) for (const h of hits) assert.ok(Math.abs(h - m) < 5 * Math.sqrt(m) + 1, `class ${c} file hits ${hits}`);
    });
    for (const h of targetHits) assert.ok(Math.abs(h - n / 7) < 5 * Math.sqrt(n / 7), `target hits ${targetHits}`);
    console.log(`${n} draws over ${table.classes.length} classes: worst |z| = ${worst.toFixed(2)}; target hits ${targetHits.join(' ')}`);
  } finally {
    cleanup();
  }
});
