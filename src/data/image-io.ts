// File I/O for images and labels. Photos go through sharp (decoded to 8-bit RGB, as OpenCV's
// imread + BGR→RGB gives); label PNGs go through our own decoder so palette indices and 16-bit
// values arrive untouched. Writes are atomic (temp file + rename) so an interrupted run never
// leaves a half-written file that a resumed run would mistake for finished.
import { promises as fsp } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import sharp from 'sharp';
import { ImageReadError } from './errors.js';
import { decodePng, labelChannel, type DecodedPng } from './png/decode.js';

/** sharp reports a missing file as "Input file is missing: …". */
function describeSharpError(e: Error): string {
  return /Input file is missing/.test(e.message) ? 'file not found' : e.message;
}

/** 8-bit interleaved RGB image. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes any image sharp reads into 8-bit RGB (alpha dropped, grey expanded, 16-bit reduced by >>8). */
export async function readRgb(path: string): Promise<RgbImage> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(path, { failOn: 'error' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageReadError(path, describeSharpError(e as Error));
  }
  const { width, height, channels } = out.info;
  const bytesPerSample = out.data.length / (width * height * channels);
  let src: Uint8Array = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  if (bytesPerSample === 2) {
    const wide = new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.length / 2);
    src = new Uint8Array(wide.length);
    for (let i = 0; i < wide.length; i++) src[i] = wide[i] >> 8;
  }
  if (channels === 3) return { data: src, width, height };
  if (channels !== 1) throw new ImageReadError(path, `unexpected ${channels} channels after removing alpha`);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, k = 0; i < src.length; i++, k += 3) rgb[k] = rgb[k + 1] = rgb[k + 2] = src[i];
  return { data: rgb, width, height };
}

/** Reads only the header (dimensions); cheap existence/format check. */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(path).metadata();
    if (!m.width || !m.height) throw new Error('no dimensions in header');
    return { width: m.width, height: m.height };
  } catch (e) {
    throw new ImageReadError(path, describeSharpError(e as Error));
  }
}

/** Decodes a PNG label file (palette indices / grey / first channel). */
export async function readLabelPng(path: string): Promise<{ png: DecodedPng; values: Uint8Array | Uint16Array }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (e) {
    throw new ImageReadError(path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message);
  }
  try {
    const png = decodePng(buf);
    return { png, values: labelChannel(png) };
  } catch (e) {
    throw new ImageReadError(path, (e as Error).message);
  }
}

/** Reads an 8-bit trainId label (e.g. *_labelTrainIds.png). */
export async function readTrainIds(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { png, values } = await readLabelPng(path);
  if (!(values instanceof Uint8Array)) throw new ImageReadError(path, `trainId labels must be 8-bit, found ${png.bitDepth}-bit`);
  return { data: values, width: png.width, height: png.height };
}

/** Encodes 8-bit RGB as PNG with sharp. */
export async function encodeRgbPng(img: RgbImage, compressionLevel = 6): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel }).toBuffer();
}

/** Writes bytes atomically: a temp file in the same folder, then rename. Creates parent folders. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  await fsp.writeFile(tmp, bytes);
  await fsp.rename(tmp, path);
}
