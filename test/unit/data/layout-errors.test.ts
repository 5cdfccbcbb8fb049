// Missing or mis-laid-out data: one error naming the expected path and the README section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../../../src/data/datasets.js';
import { prepareData } from '../../../src/data/prepare/prepare-data.js';
import { openTrainData } from '../../../src/data/train-data.js';
import { DATA_LAYOUT_SECTION, DataLayoutError, DataNotPreparedError } from '../../../src/data/errors.js';
import { tempDir, writeGtaLabel, writeGreyLabel, writeRandomImage } from './helpers.js';

const layoutError = (path: string) => (e: Error) => {
  assert.ok(e instanceof DataLayoutError, `${e.name}: ${e.message}`);
  assert.equal(e.expectedPath, path);
  assert.ok(e.message.includes(path), e.message);
  assert.ok(e.message.includes(`'${DATA_LAYOUT_SECTION}'`), e.message);
  return true;
};

test('missing dataset folders name the expected path and the README section', async () => {
  const { dir, cleanup } = tempDir('layout');
  try {
    assert.throws(() => openDataset('gta', join(dir, 'nope')), layoutError(join(dir, 'nope')));
    mkdirSync(join(dir, 'gta'));
    assert.throws(() => openDataset('gta', join(dir, 'gta')), layoutError(join(dir, 'gta', 'images')));
    assert.throws(() => openDataset('synthia', join(dir, 'gta')), layoutError(join(dir, 'gta', 'RGB')));
    assert.throws(() => openDataset('cityscapes', dir, { split: 'val' }), layoutError(join(dir, 'leftImg8bit', 'val')));
    await assert.rejects(prepareData('gta', join(dir, 'gta')), layoutError(join(dir, 'gta', 'images')));
    mkdirSync(join(dir, 'gta', 'images'));
    await assert.rejects(prepareData('gta', join(dir, 'gta')), layoutError(join(dir, 'gta', 'labels')));
    await assert.rejects(prepareData('cityscapes', dir), layoutError(join(dir, 'leftImg8bit', 'train')));
  } finally {
    cleanup();
  }
});

test('passing the parent folder (data/ instead of data/gta) says which folder to pass', async () => {
  const { dir, cleanup } = tempDir('layout-parent');
  try {
    await writeRandomImage(join(dir, 'gta/images/00001.png'), 4, 4, 1);
    writeGtaLabel(join(dir, 'gta/labels/00001.png'), new Uint8Array(16).fill(7), 4, 4);
    assert.throws(() => openDataset('gta', dir), (e: Error) => layoutError(join(dir, 'images'))(e) && e.message.includes(`pass ${join(dir, 'gta')}`));
    await assert.rejects(prepareData('gta', dir), (e: Error) => layoutError(join(dir, 'images'))(e) && e.message.includes(`pass ${join(dir, 'gta')}`));
  } finally {
    cleanup();
  }
});

test('an unprepared dataset names the missing file and the command to run', async () => {
  const { dir, cleanup } = tempDir('layout-prep');
  try {
    await writeRandomImage(join(dir, 'gta/images/00001.png'), 4, 4, 1);
    writeGtaLabel(join(dir, 'gta/labels/00001.png'), new Uint8Array(16).fill(7), 4, 4);
    const gta = join(dir, 'gta');
    assert.throws(() => openDataset('gta', gta), (e: Error) =>
      e instanceof DataNotPreparedError && e.message.includes(join(gta, 'labels', '00001_labelTrainIds.png')) && e.message.includes(`pipa prepare-data gta ${gta}`));
    // Labels converted but the RCS files deleted → RCS asks for prepare-data again.
    await writeRandomImage(join(dir, 'cs/leftImg8bit/train/c/c_000000_000000_leftImg8bit.png'), 4, 4, 2);
    writeGreyLabel(join(dir, 'cs/gtFine/train/c/c_000000_000000_gtFine_labelIds.png'), new Uint8Array(16).fill(7), 4, 4);
    await prepareData('gta', gta);
    rmSync(join(gta, 'samples_with_class.json'));
    assert.throws(() => openTrainData({ seed: 0, source: { kind: 'gta', root: gta }, target: { root: join(dir, 'cs') } }),
      (e: Error) => e instanceof DataNotPreparedError && e.message.includes(join(gta, 'samples_with_class.json')));
  } finally {
    cleanup();
  }
});
