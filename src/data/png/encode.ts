// Minimal PNG encoder for label images: 8-bit grey (trainIds, Cityscapes labelIds), 8-bit palette
// (GTA5-style labels whose indices are the label ids) and 8/16-bit grey/RGB for tests.
// Rows use the Sub filter: label maps are long runs, which Sub turns into zeros.
import { crc32, deflateSync } from 'node:zlib';
import { PngFormatError } from '../errors.js';

export interface PngImage {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 6 RGBA. */
  colorType: 0 | 2 | 3 | 6;
  bitDepth: 8 | 16;
  /** Interleaved samples (indices for palette images). */
  data: Uint8Array | Uint16Array;
  /** RGB triplets (required for colour type 3). */
  palette?: Uint8Array;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 6: 4 } as const;

export function encodePng(img: PngImage, level = 6): Buffer {
  const ch = CHANNELS[img.colorType];
  const bytesPerSample = img.bitDepth / 8;
  const bpp = ch * bytesPerSample;
  const stride = img.width * bpp;
  if (img.data.length !== img.width * img.height * ch) {
    throw new PngFormatError(`encodePng: ${img.data.length} samples for ${img.width}×${img.height}×${ch}`);
  }
  if (img.colorType === 3 && (!img.palette || img.bitDepth !== 8)) throw new PngFormatError('encodePng: palette images need a palette and bit depth 8');
  const raw = new Uint8Array((stride + 1) * img.height);
  const row = new Uint8Array(stride);
  for (let y = 0; y < img.height; y++) {
    const base = y * img.width * ch;
    if (bytesPerSample === 1) row.set(img.data.subarray(base, base + img.width * ch) as Uint8Array);
    else
      for (let i = 0; i < img.width * ch; i++) {
        const v = img.data[base + i];
        row[2 * i] = v >> 8;
        row[2 * i + 1] = v & 255;
      }
    const o = y * (stride + 1);
    raw[o] = 1; // Sub
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = (row[i] - (i >= bpp ? row[i - bpp] : 0)) & 255;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(img.width, 0);
  ihdr.writeUInt32BE(img.height, 4);
  ihdr[8] = img.bitDepth;
  ihdr[9] = img.colorType;
  const chunks = [chunk('IHDR', ihdr)];
  if (img.colorType === 3) chunks.push(chunk('PLTE', img.palette!));
  chunks.push(chunk('IDAT', deflateSync(raw, { level })), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks]);
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** 8-bit single-channel PNG (trainIds / labelIds). */
export function encodeGreyPng(data: Uint8Array, width: number, height: number, level = 6): Buffer {
  return encodePng({ width, height, colorType: 0, bitDepth: 8, data }, level);
}
