// prepare-data end to end on tiny datasets: outputs, the RCS files in the original's exact JSON
// layout, resumability, bad files reported and skipped, worker threads, Cityscapes split lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareData, type PrepareProgress } from '../../../src/data/prepare/prepare-data.js';
import { readTrainIds } from '../../../src/data/image-io.js';
import { randomLabels, tempDir, writeGreyLabel, writeGtaLabel, writeRandomImage, writeSynthiaLabel } from './helpers.js';

test('GTA: trainId files and RCS statistics laid out exactly like the original json.dump(indent=2)', async () => {
  const { dir, cleanup } = tempDir('prep-json');
  try {
    // 00001: ids [7,7,7,8,26,26,0,23] → trainIds 0×3, 1×1, 13×2, 10×1; 00002: [11×4, 7,7, 8,8] → 2×4, 0×2, 1×2.
    writeGtaLabel(join(dir, 'labels/00001.png'), Uint8Array.from([7, 7, 7, 8, 26, 26, 0, 23]), 4, 2);
    writeGtaLabel(join(dir, 'labels/00002.png'), Uint8Array.from([11, 11, 11, 11, 7, 7, 8, 8]), 4, 2);
    await writeRandomImage(join(dir, 'images/00001.png'), 4, 2, 1);
    await writeRandomImage(join(dir, 'images/00002.png'), 4, 2, 2);
    const s = await prepareData('gta', dir);
    assert.deepEqual([s.total, s.converted, s.resumed, s.failed.length], [2, 2, 0, 0]);
    const A = join(dir, 'labels/00001_labelTrainIds.png'), B = join(dir, 'labels/00002_labelTrainIds.png');
    assert.deepEqual([...(await readTrainIds(A)).data], [0, 0, 0, 1, 13, 13, 255, 10]);
    const q = JSON.stringify;
    assert.equal(readFileSync(join(dir, 'sample_class_stats.json'), 'utf8'),
      `[\n  {\n    "0": 3,\n    "1": 1,\n    "10": 1,\n    "13": 2,\n    "file": ${q(A)}\n  },\n` +
      `  {\n    "0": 2,\n    "1": 2,\n    "2": 4,\n    "file": ${q(B)}\n  }\n]`);
    // Class keys in first-seen order ("2" after "13"), pairs as 2-element lists.
    const pair = (f: string, n: number) => `    [\n      ${q(f)},\n      ${n}\n    ]`;
    assert.equal(readFileSync(join(dir, 'samples_with_class.json'), 'utf8'),
      `{\n  "0": [\n${pair(A, 3)},\n${pair(B, 2)}\n  ],\n  "1": [\n${pair(A, 1)},\n${pair(B, 2)}\n  ],\n` +
      `  "10": [\n${pair(A, 1)}\n  ],\n  "13": [\n${pair(A, 2)}\n  ],\n  "2": [\n${pair(B, 4)}\n  ]\n}`);
    assert.equal(readFileSync(join(dir, 'sample_class_stats_dict.json'), 'utf8'),
      `{\n  ${q(A)}: {\n    "0": 3,\n    "1": 1,\n    "10": 1,\n    "13": 2\n  },\n  ${q(B)}: {\n    "0": 2,\n    "1": 2,\n    "2": 4\n  }\n}`);
  } finally {
    cleanup();
  }
});

test('GTA: bad files are reported by path and skipped; progress; resume skips finished files; nproc 2 gives the same result', async () => {
  const { dir, cleanup } = tempDir('prep-resume');
  try {
    const w = 24, h = 16;
    for (let i = 1; i <= 4; i++) {
      const name = String(i).padStart(5, '0');
      writeGtaLabel(join(dir, `labels/${name}.png`), randomLabels(w, h, [7, 8, 11, 21, 23, 26, 0], i), w, h);
      if (i !== 3) await writeRandomImage(join(dir, `images/${name}.png`), w, h, i); // 00003: image missing
    }
    writeFileSync(join(dir, 'labels/00005.png'), Buffer.from('this is not a png')); // corrupt label
    await writeRandomImage(join(dir, 'images/00005.png'), w, h, 5);
    const seen: PrepareProgress[] = [];
    const s1 = await prepareData('gta', dir, { onProgress: (p) => seen.push(p) });
    assert.equal(s1.total, 5);
    assert.equal(s1.converted, 3);
    assert.deepEqual(s1.failed.map((f) => f.path).sort(), [join(dir, 'images/00003.png'), join(dir, 'labels/00005.png')]);
    assert.equal(seen.length, 5);
    assert.deepEqual(seen.at(-1)!.done, 5);
    assert.equal(existsSync(join(dir, 'labels/00003_labelTrainIds.png')), false);
    const stats1 = readFileSync(join(dir, 'sample_class_stats.json'), 'utf8');
    assert.equal(JSON.parse(stats1).length, 3);

    const out1 = join(dir, 'labels/00001_labelTrainIds.png');
    const mtime = statSync(out1).mtimeMs;
    const s2 = await prepareData('gta', dir);
    assert.deepEqual([s2.converted, s2.resumed, s2.failed.length], [0, 3, 2]);
    assert.equal(statSync(out1).mtimeMs, mtime, 'finished output not rewritten');
    assert.equal(readFileSync(join(dir, 'sample_class_stats.json'), 'utf8'), stats1, 'statistics identical after resume');

    rmSync(out1);
    await writeRandomImage(join(dir, 'images/00003.png'), w, h, 3);
    const s3 = await prepareData('gta', dir, { nproc: 2 });
    assert.deepEqual([s3.converted, s3.resumed, s3.failed.length], [2, 2, 1]);
    const s4 = await prepareData('gta', dir, { resume: false, nproc: 2 });
    assert.deepEqual([s4.converted, s4.resumed], [4, 0]);
    assert.equal(JSON.parse(readFileSync(join(dir, 'sample_class_stats.json'), 'utf8')).length, 4);
  } finally {
    cleanup();
  }
});

test('SYNTHIA (16-bit labels) and Cityscapes (labelIds; statistics from train only; split lists)', async () => {
  const { dir, cleanup } = tempDir('prep-sy-cs');
  try {
    const syn = join(dir, 'synthia');
    writeSynthiaLabel(join(syn, 'GT/LABELS/0000000.png'), Uint16Array.from([3, 3, 1, 1, 8, 300]), 3, 2);
    await writeRandomImage(join(syn, 'RGB/0000000.png'), 3, 2, 1);
    const s = await prepareData('synthia', syn);
    assert.equal(s.converted, 1);
    assert.deepEqual([...(await readTrainIds(join(syn, 'GT/LABELS/0000000_labelTrainIds.png'))).data], [0, 0, 10, 10, 13, 255]);

    const cs = join(dir, 'cityscapes');
    for (const [split, city, ids] of [['train', 'aa', [7, 7, 26, 23]], ['train', 'bb', [8, 8, 8, 8]], ['val', 'cc', [7, 7, 7, 7]]] as const) {
      const stem = `${city}_000000_000001`;
      writeGreyLabel(join(cs, `gtFine/${split}/${city}/${stem}_gtFine_labelIds.png`), Uint8Array.from(ids), 2, 2);
      await writeRandomImage(join(cs, `leftImg8bit/${split}/${city}/${stem}_leftImg8bit.png`), 2, 2, 1);
    }
    const c = await prepareData('cityscapes', cs);
    assert.equal(c.converted, 3);
    const stats = JSON.parse(readFileSync(join(cs, 'sample_class_stats.json'), 'utf8'));
    assert.deepEqual(stats.map((e: { file: string }) => e.file), [
      join(cs, 'gtFine/train/aa/aa_000000_000001_gtFine_labelTrainIds.png'),
      join(cs, 'gtFine/train/bb/bb_000000_000001_gtFine_labelTrainIds.png'),
    ]);
    assert.equal(readFileSync(join(cs, 'train.txt'), 'utf8'), 'aa/aa_000000_000001\nbb/bb_000000_000001\n');
    assert.equal(readFileSync(join(cs, 'val.txt'), 'utf8'), 'cc/cc_000000_000001\n');
  } finally {
    cleanup();
  }
});
