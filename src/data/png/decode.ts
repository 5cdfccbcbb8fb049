// Minimal PNG decoder for label images. sharp returns palette PNGs (GTA5 labels) as colours and
// 16-bit PNGs (SYNTHIA labels) through colour management; label conversion needs the raw samples:
// palette indices, grey values, or the first (R) channel of 16-bit RGB. Supports every colour type,
// bit depths 1–16 and Adam7 interlacing; verifies chunk CRCs so truncated/corrupt files are caught.
import { crc32, inflateSync } from 'node:zlib';
import { PngFormatError } from '../errors.js';

export interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  /** Samples per pixel (1 for palette: the index). */
  channels: number;
  /** Interleaved samples, row-major; Uint16Array when bitDepth is 16. Palette images hold indices. */
  samples: Uint8Array | Uint16Array;
  /** RGB triplets of the PLTE chunk, if present. */
  palette: Uint8Array | null;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
] as const;

export function decodePng(buf: Uint8Array): DecodedPng {
  if (buf.length < 8 || SIGNATURE.some((b, i) => buf[i] !== b)) throw new PngFormatError('not a PNG file (bad signature)');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 8;
  let width = 0, height = 0, bitDepth = 0, colorType = -1, interlace = 0;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos + 12 <= buf.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]);
    if (pos + 12 + len > buf.length) throw new PngFormatError(`truncated ${type} chunk at byte ${pos}`);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    const crc = view.getUint32(pos + 8 + len);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== crc) throw new PngFormatError(`CRC mismatch in ${type} chunk at byte ${pos}`);
    if (type === 'IHDR') {
      const h = new DataView(body.buffer, body.byteOffset, body.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      bitDepth = body[8];
      colorType = body[9];
      interlace = body[12];
      if (body[10] !== 0 || body[11] !== 0) throw new PngFormatError('unknown compression/filter method');
    } else if (type === 'PLTE') {
      palette = body.slice();
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos += 12 + len;
  }
  if (!ended) throw new PngFormatError('truncated file: no IEND chunk');
  const channels = CHANNELS[colorType];
  if (channels === undefined || width === 0 || height === 0) throw new PngFormatError(`bad IHDR (colour type ${colorType}, ${width}×${height})`);
  if (![1, 2, 4, 8, 16].includes(bitDepth)) throw new PngFormatError(`bad bit depth ${bitDepth}`);

  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new PngFormatError(`corrupt image data: ${(e as Error).message}`);
  }
  const samples = bitDepth === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  const bitsPerPixel = channels * bitDepth;
  if (interlace === 0) {
    unfilterPass(raw, 0, width, height, bitsPerPixel);
    unpackPass(raw, 0, width, height, channels, bitDepth, samples, width, 0, 0, 1, 1);
  } else {
    let off = 0;
    for (const [x0, y0, dx, dy] of ADAM7) {
      const pw = Math.ceil((width - x0) / dx), ph = Math.ceil((height - y0) / dy);
      if (pw <= 0 || ph <= 0) continue;
      const size = unfilterPass(raw, off, pw, ph, bitsPerPixel);
      unpackPass(raw, off, pw, ph, channels, bitDepth, samples, width, x0, y0, dx, dy);
      off += size;
    }
  }
  return { width, height, bitDepth, colorType, channels, samples, palette };
}

/** Reverses the per-row filters in place; returns the number of bytes the pass occupies. */
function unfilterPass(data: Uint8Array, start: number, w: number, h: number, bitsPerPixel: number): number {
  const stride = Math.ceil((w * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const total = (stride + 1) * h;
  if (start + total > data.length) throw new PngFormatError(`image data too short (${data.length - start} of ${total} bytes)`);
  for (let y = 0; y < h; y++) {
    const row = start + y * (stride + 1) + 1;
    const prev = y > 0 ? row - stride - 1 : -1;
    const filter = data[row - 1];
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < stride; i++) data[row + i] = (data[row + i] + data[row + i - bpp]) & 255;
        break;
      case 2:
        if (prev >= 0) for (let i = 0; i < stride; i++) data[row + i] = (data[row + i] + data[prev + i]) & 255;
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? data[row + i - bpp] : 0;
          const b = prev >= 0 ? data[prev + i] : 0;
          data[row + i] = (data[row + i] + ((a + b) >> 1)) & 255;
        }
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? data[row + i - bpp] : 0;
          const b = prev >= 0 ? data[prev + i] : 0;
          const c = i >= bpp && prev >= 0 ? data[prev + i - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          data[row + i] = (data[row + i] + pred) & 255;
        }
        break;
      default:
        throw new PngFormatError(`unknown filter type ${filter} in row ${y}`);
    }
  }
  return total;
}

/** Copies one (unfiltered) pass into the sample array at pixel positions (x0 + dx·i, y0 + dy·j). */
function unpackPass(
  data: Uint8Array, start: number, w: number, h: number, channels: number, bitDepth: number,
  out: Uint8Array | Uint16Array, fullWidth: number, x0: number, y0: number, dx: number, dy: number,
): void {
  const stride = Math.ceil((w * channels * bitDepth) / 8);
  const n = w * channels;
  for (let y = 0; y < h; y++) {
    const row = start + y * (stride + 1) + 1;
    const outRow = ((y0 + y * dy) * fullWidth + x0) * channels;
    const step = dx * channels;
    if (bitDepth === 8 && dx === 1) {
      out.set(data.subarray(row, row + n), outRow);
    } else if (bitDepth === 8) {
      for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) out[outRow + x * step + c] = data[row + x * channels + c];
    } else if (bitDepth === 16) {
      for (let x = 0; x < w; x++)
        for (let c = 0; c < channels; c++) {
          const k = row + 2 * (x * channels + c);
          out[outRow + x * step + c] = (data[k] << 8) | data[k + 1];
        }
    } else {
      const perByte = 8 / bitDepth, mask = (1 << bitDepth) - 1;
      for (let i = 0; i < n; i++) {
        const byte = data[row + Math.floor(i / perByte)];
        const shift = 8 - bitDepth * ((i % perByte) + 1);
        const x = Math.floor(i / channels), c = i % channels;
        out[outRow + x * step + c] = (byte >> shift) & mask;
      }
    }
  }
}

/**
 * The label channel of a decoded PNG: palette indices, grey values, or the first channel of
 * RGB(A) — SYNTHIA's class id lives in R, the last channel of OpenCV's BGR view (SPEC §5.3).
 */
export function labelChannel(png: DecodedPng): Uint8Array | Uint16Array {
  if (png.channels === 1) return png.samples;
  const n = png.width * png.height;
  const out = png.bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0, k = 0; i < n; i++, k += png.channels) out[i] = png.samples[k];
  return out;
}
