// Writing predictions as images: Cityscapes-palette colour maps, side-by-side
// image | prediction | ground truth panels (--show-dir), and labelId PNGs for the
// Cityscapes benchmark server (--format-only).
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { CLASS_PALETTE, TRAIN_TO_CITYSCAPES_ID } from '../data/labels.js';
import type { ValSample } from '../data/types.js';

/** trainIds (255 = ignore → black) to an RGB image. */
export function colorize(labels: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(labels.length * 3);
  for (let i = 0; i < labels.length; i++) {
    const c = CLASS_PALETTE[labels[i]];
    if (c) out.set(c, 3 * i);
  }
  return out;
}

/** The normalised test image back to 8-bit RGB. */
export function denormalizeToRgb(img: Float32Array, mean: readonly number[], std: readonly number[]): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img[i] * std[i % 3] + mean[i % 3])));
  return out;
}

const stem = (p: string) => basename(p).replace(/_leftImg8bit\.png$|\.png$/, '');

export async function writeShowImages(dir: string, s: ValSample, pred: Int32Array, mean: readonly number[], std: readonly number[]): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const w = s.labelWidth;
  const h = s.labelHeight;
  const img = await sharp(denormalizeToRgb(s.img, mean, std), { raw: { width: s.width, height: s.height, channels: 3 } })
    .resize(w, h)
    .raw()
    .toBuffer();
  const panel = new Uint8Array(w * 3 * h * 3);
  const parts = [img, colorize(pred), colorize(s.label)];
  for (let y = 0; y < h; y++) parts.forEach((p, k) => panel.set(p.subarray(y * w * 3, (y + 1) * w * 3), (y * 3 * w + k * w) * 3));
  const out = join(dir, `${stem(s.path)}_panel.png`);
  await sharp(panel, { raw: { width: 3 * w, height: h, channels: 3 } }).png().toFile(out);
  await sharp(colorize(pred), { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `${stem(s.path)}_pred.png`));
  return out;
}

/** Cityscapes labelIds (what the benchmark server expects), one grayscale PNG per image. */
export async function writeLabelIdPng(dir: string, s: ValSample, pred: Int32Array): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const ids = new Uint8Array(pred.length);
  for (let i = 0; i < pred.length; i++) ids[i] = TRAIN_TO_CITYSCAPES_ID[pred[i]] ?? 0;
  const out = join(dir, `${stem(s.path)}_labelIds.png`);
  await sharp(ids, { raw: { width: s.labelWidth, height: s.labelHeight, channels: 1 } }).png().toFile(out);
  return out;
}
