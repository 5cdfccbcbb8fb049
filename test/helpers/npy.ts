// Minimal .npy (format 1.0/2.0, little-endian, C order) reader for the golden fixtures.
import { readFileSync } from 'node:fs';

export interface NpyArray {
  dtype: 'float32' | 'float64' | 'int32' | 'uint8';
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
}

export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  if (buf.readUInt32BE(0) !== 0x934e554d) throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.subarray(hstart, hstart + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  if (fortran !== 'False') throw new Error(`${path}: Fortran order not supported`);
  const shape = shapeStr
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const start = hstart + hlen;
  const raw = Buffer.from(buf.subarray(start));
  const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  switch (descr) {
    case '<f4':
      return { dtype: 'float32', shape, data: new Float32Array(ab) };
    case '<f8':
      return { dtype: 'float64', shape, data: new Float64Array(ab) };
    case '<i4':
      return { dtype: 'int32', shape, data: new Int32Array(ab) };
    case '|u1':
    case '|b1':
      return { dtype: 'uint8', shape, data: new Uint8Array(ab) };
    default:
      throw new Error(`${path}: unsupported dtype ${descr}`);
  }
}
