// PNG codec: round trips, and cross-checks against sharp (an independent decoder/encoder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodePng, labelChannel } from '../../../src/data/png/decode.js';
import { encodePng } from '../../../src/data/png/encode.js';
import { cityscapesIdPalette } from '../../../src/data/labels.js';
import { PngFormatError } from '../../../src/data/errors.js';
import { randomLabels } from './helpers.js';

test('grey and palette PNGs round-trip, and sharp sees the palette colours of our indices', async () => {
  const w = 37, h = 23;
  const ids = randomLabels(w, h, Array.from({ length: 34 }, (_, i) => i), 1);
  const grey = decodePng(encodePng({ width: w, height: h, colorType: 0, bitDepth: 8, data: ids }));
  assert.deepEqual([grey.width, grey.height, grey.channels], [w, h, 1]);
  assert.deepEqual(grey.samples, ids);

  const pal = cityscapesIdPalette();
  const buf = encodePng({ width: w, height: h, colorType: 3, bitDepth: 8, data: ids, palette: pal });
  const dec = decodePng(buf);
  assert.equal(dec.colorType, 3);
  assert.deepEqual(labelChannel(dec), ids);
  const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  for (let i = 0; i < ids.length; i++) {
    for (let c = 0; c < 3; c++) assert.equal(data[3 * i + c], pal[3 * ids[i] + c], `pixel ${i} channel ${c}`);
  }
});

test('16-bit RGB PNG: our decoder and sharp (ushort) agree; the label channel is R', async () => {
  const w = 19, h = 11;
  const data = new Uint16Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 65536;
  const buf = encodePng({ width: w, height: h, colorType: 2, bitDepth: 16, data });
  const dec = decodePng(buf);
  assert.equal(dec.bitDepth, 16);
  assert.deepEqual(dec.samples, data);
  const meta = await sharp(buf).metadata();
  assert.equal(meta.depth, 'ushort');
  const raw = await sharp(buf).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
  const viaSharp = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
  assert.deepEqual(viaSharp, data);
  const r = labelChannel(dec);
  for (let i = 0; i < w * h; i++) assert.equal(r[i], data[3 * i]);
});

test('PNGs written by sharp (RGB, grey, Adam7-interlaced) decode to sharp’s own pixels', async () => {
  const w = 29, h = 17;
  const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37) & 255);
  for (const progressive of [false, true]) {
    const buf = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png({ progressive }).toBuffer();
    const dec = decodePng(buf);
    assert.deepEqual(Buffer.from(dec.samples as Uint8Array), Buffer.from(rgb), `progressive=${progressive}`);
  }
  const grey = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).toColourspace('b-w').png({ progressive: true }).toBuffer();
  const ref = await sharp(grey).toColourspace('b-w').raw().toBuffer();
  assert.deepEqual(Buffer.from(decodePng(grey).samples as Uint8Array), ref);
});

test('truncated or corrupted PNGs raise PngFormatError', () => {
  const buf = encodePng({ width: 8, height: 8, colorType: 0, bitDepth: 8, data: new Uint8Array(64).fill(7) });
  assert.throws(() => decodePng(buf.subarray(0, buf.length - 20)), PngFormatError);
  const flipped = Buffer.from(buf);
  flipped[40] ^= 0xff;
  assert.throws(() => decodePng(flipped), PngFormatError);
  assert.throws(() => decodePng(Buffer.from('not a png at all')), /bad signature/);
});
