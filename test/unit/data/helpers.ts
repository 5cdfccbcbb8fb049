// Small on-disk datasets for the data tests: temp folders under os.tmpdir(), tiny images.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { rngFor } from '../../../src/common/random.js';
import { cityscapesIdPalette } from '../../../src/data/labels.js';
import { encodePng } from '../../../src/data/png/encode.js';

/** Creates a temp folder; the returned cleanup removes it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `pipa-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeBytes(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** Random RGB PNG written with sharp; returns the pixels. */
export async function writeRandomImage(path: string, w: number, h: number, seed: number): Promise<Uint8Array> {
  const rng = rngFor(seed, 'test-image', path);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.randint(0, 256);
  mkdirSync(dirname(path), { recursive: true });
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
  return data;
}

/** Random label values drawn from `values`. */
export function randomLabels(w: number, h: number, values: readonly number[], seed: number): Uint8Array {
  const rng = rngFor(seed, 'test-labels');
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = values[rng.randint(0, values.length)];
  return out;
}

/** GTA5-style label: palette PNG whose indices are Cityscapes ids. */
export function writeGtaLabel(path: string, ids: Uint8Array, w: number, h: number): void {
  writeBytes(path, encodePng({ width: w, height: h, colorType: 3, bitDepth: 8, data: ids, palette: cityscapesIdPalette() }));
}

export function writeGreyLabel(path: string, ids: Uint8Array, w: number, h: number): void {
  writeBytes(path, encodePng({ width: w, height: h, colorType: 0, bitDepth: 8, data: ids }));
}

/** SYNTHIA-style label: 16-bit RGB PNG, class id in R, an instance id in G, B zero. */
export function writeSynthiaLabel(path: string, ids: Uint16Array, w: number, h: number): void {
  const data = new Uint16Array(w * h * 3);
  for (let i = 0; i < ids.length; i++) {
    data[3 * i] = ids[i];
    data[3 * i + 1] = (i * 7919) & 0xffff;
  }
  writeBytes(path, encodePng({ width: w, height: h, colorType: 2, bitDepth: 16, data }));
}

/** Every Cityscapes id 0..33 plus some out-of-table values. */
export const ALL_IDS: readonly number[] = [...Array.from({ length: 34 }, (_, i) => i), 34, 40, 200, 255];
