// Label conversion tables (SPEC §5.3), checked through files made here: a palette GTA5 label, a
// 16-bit RGB SYNTHIA label and an 8-bit Cityscapes labelIds image. The expected tables below are
// transcribed from the SPEC independently of src/data/labels.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { convertLabelFile } from '../../../src/data/prepare/convert.js';
import { readTrainIds } from '../../../src/data/image-io.js';
import { CLASS_NAMES, CLASS_PALETTE, TRAIN_TO_CITYSCAPES_ID } from '../../../src/data/labels.js';
import { ALL_IDS, randomLabels, tempDir, writeGreyLabel, writeGtaLabel, writeRandomImage, writeSynthiaLabel } from './helpers.js';

const SPEC_CITYSCAPES: Record<number, number> = {
  7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
};
const SPEC_GTA = SPEC_CITYSCAPES; // "GTA5 (labels use Cityscapes ids): 7→0, 8→1, …, 33→18; every other value → 255"
const SPEC_SYNTHIA: Record<number, number> = {
  3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10, 10: 11, 17: 12, 8: 13, 18: 14, 19: 15, 20: 16, 12: 17, 11: 18,
};
const expected = (table: Record<number, number>, v: number) => table[v] ?? 255;

async function convert(kind: 'gta' | 'synthia' | 'cityscapes', rawLabel: string, image: string, out: string) {
  const r = await convertLabelFile({ kind, rawLabel, output: out, image, imageCheck: 'decode', resume: false, stats: true });
  assert.ok(r.ok, JSON.stringify(r));
  return { result: r, trainIds: (await readTrainIds(out)).data };
}

test('class table: 19 classes with the SPEC §5.2 names/palette; trainId → Cityscapes id inverse', () => {
  assert.equal(CLASS_NAMES.length, 19);
  assert.deepEqual(CLASS_PALETTE[0], [128, 64, 128]);
  assert.deepEqual(CLASS_PALETTE[18], [119, 11, 32]);
  for (const [id, t] of Object.entries(SPEC_CITYSCAPES)) assert.equal(TRAIN_TO_CITYSCAPES_ID[t], Number(id));
});

test('GTA5 palette label → trainIds by the SPEC table (indices, not colours)', async () => {
  const { dir, cleanup } = tempDir('labels-gta');
  try {
    const w = 41, h = 27;
    const ids = randomLabels(w, h, ALL_IDS, 3);
    writeGtaLabel(join(dir, 'labels/00001.png'), ids, w, h);
    await writeRandomImage(join(dir, 'images/00001.png'), w, h, 1);
    const { result, trainIds } = await convert('gta', join(dir, 'labels/00001.png'), join(dir, 'images/00001.png'), join(dir, 'labels/00001_labelTrainIds.png'));
    for (let i = 0; i < ids.length; i++) assert.equal(trainIds[i], expected(SPEC_GTA, ids[i]), `pixel ${i} id ${ids[i]}`);
    // Statistics: pixel counts of trainIds 0..18 (255 excluded), ascending.
    const hist = new Map<number, number>();
    for (const t of trainIds) if (t !== 255) hist.set(t, (hist.get(t) ?? 0) + 1);
    assert.ok(result.ok);
    assert.deepEqual(result.counts, [...hist].sort((a, b) => a[0] - b[0]));
  } finally {
    cleanup();
  }
});

test('SYNTHIA 16-bit RGB label → trainIds from the R channel (values ≥ 256 → 255)', async () => {
  const { dir, cleanup } = tempDir('labels-synthia');
  try {
    const w = 33, h = 21;
    const ids8 = randomLabels(w, h, [...Array.from({ length: 25 }, (_, i) => i), 200], 4);
    const ids = Uint16Array.from(ids8, (v, i) => (i % 97 === 0 ? 256 + v : v)); // some values above 8 bits
    writeSynthiaLabel(join(dir, 'GT/LABELS/0000001.png'), ids, w, h);
    await writeRandomImage(join(dir, 'RGB/0000001.png'), w, h, 2);
    const { trainIds } = await convert('synthia', join(dir, 'GT/LABELS/0000001.png'), join(dir, 'RGB/0000001.png'), join(dir, 'GT/LABELS/0000001_labelTrainIds.png'));
    for (let i = 0; i < ids.length; i++) assert.equal(trainIds[i], expected(SPEC_SYNTHIA, ids[i]), `pixel ${i} id ${ids[i]}`);
  } finally {
    cleanup();
  }
});

test('Cityscapes *_gtFine_labelIds.png → *_gtFine_labelTrainIds.png by the id table', async () => {
  const { dir, cleanup } = tempDir('labels-cs');
  try {
    const w = 30, h = 15;
    const ids = randomLabels(w, h, ALL_IDS, 5);
    const raw = join(dir, 'gtFine/train/x/x_000000_000001_gtFine_labelIds.png');
    writeGreyLabel(raw, ids, w, h);
    const img = join(dir, 'leftImg8bit/train/x/x_000000_000001_leftImg8bit.png');
    await writeRandomImage(img, w, h, 3);
    const { trainIds } = await convert('cityscapes', raw, img, raw.replace('_labelIds.png', '_labelTrainIds.png'));
    for (let i = 0; i < ids.length; i++) assert.equal(trainIds[i], expected(SPEC_CITYSCAPES, ids[i]), `pixel ${i} id ${ids[i]}`);
  } finally {
    cleanup();
  }
});

test('a label whose image is missing, corrupt or of another size is reported by path and not converted', async () => {
  const { dir, cleanup } = tempDir('labels-bad');
  try {
    const ids = randomLabels(10, 8, [7, 8], 6);
    writeGtaLabel(join(dir, 'labels/00001.png'), ids, 10, 8);
    const job = { kind: 'gta' as const, rawLabel: join(dir, 'labels/00001.png'), output: join(dir, 'labels/00001_labelTrainIds.png'), image: join(dir, 'images/00001.png'), imageCheck: 'decode' as const, resume: false, stats: true };
    let r = await convertLabelFile(job);
    assert.ok(!r.ok && r.path === job.image && /not found/.test(r.reason), JSON.stringify(r));
    await writeRandomImage(job.image, 11, 8, 1);
    r = await convertLabelFile(job);
    assert.ok(!r.ok && /11×8/.test(r.reason), JSON.stringify(r));
  } finally {
    cleanup();
  }
});
