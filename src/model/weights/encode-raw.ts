// The inverse of decodeRaw: a TensorRecord back to little-endian bytes of its own dtype,
// so converted files keep the original dtypes (int64 stays int64, fp16 stays fp16).
import { endianness } from 'node:os';
import { CheckpointError, numel, type RecordDtype, type TensorRecord } from './tensor-record.js';

/** safetensors dtype names, by record dtype. */
export const SAFETENSORS_DTYPE: Record<RecordDtype, string> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

const BYTES: Record<RecordDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

const INT_RANGE: Partial<Record<RecordDtype, [number, number]>> = { int16: [-32768, 32767], int8: [-128, 127] };

export function encodedByteLength(rec: TensorRecord): number {
  return numel(rec.shape) * BYTES[rec.dtype];
}

/** Checks that the record's array kind and length fit its dtype and shape; throws naming the key. */
export function validateRecord(name: string, rec: TensorRecord, file?: string): void {
  if (!(rec.dtype in BYTES)) throw new CheckpointError(`tensor '${name}' has unsupported dtype ${String(rec.dtype)}`, file);
  const want = rec.dtype.startsWith('float') || rec.dtype === 'bfloat16' ? Float32Array : rec.dtype.startsWith('int') ? Int32Array : Uint8Array;
  if (!(rec.data instanceof want)) {
    throw new CheckpointError(`tensor '${name}' of dtype ${rec.dtype} holds a ${rec.data.constructor.name}, expected ${want.name}`, file);
  }
  if (!rec.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || rec.data.length !== numel(rec.shape)) {
    throw new CheckpointError(`tensor '${name}' has ${rec.data.length} values for shape [${rec.shape}]`, file);
  }
  const range = INT_RANGE[rec.dtype];
  if (range) {
    for (const v of rec.data) if (v < range[0] || v > range[1]) throw new CheckpointError(`tensor '${name}' holds ${v}, outside ${rec.dtype}`, file);
  }
}

/** Little-endian bytes of `rec` in its dtype (call validateRecord first). */
export function encodeRaw(rec: TensorRecord): Buffer {
  if (endianness() !== 'LE') throw new Error('safetensors writing needs a little-endian machine');
  const d = rec.data;
  const view = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  switch (rec.dtype) {
    case 'float32':
    case 'int32':
    case 'uint8':
    case 'bool':
      return view(d);
    case 'float64':
      return view(Float64Array.from(d));
    case 'float16':
      return view(Uint16Array.from(d as Float32Array, floatToHalfBits));
    case 'bfloat16':
      return view(Uint16Array.from(d as Float32Array, floatToBfloat16Bits));
    case 'int64':
      return view(BigInt64Array.from(d as Int32Array, (v) => BigInt(v)));
    case 'int16':
      return view(Int16Array.from(d));
    case 'int8':
      return view(Int8Array.from(d));
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of `x`, rounded to nearest even (exact for values read from fp16). */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: value = m · 2^-24, so shift the 24-bit significand by 14 − e.
    return sign | roundShift(mant | 0x800000, 14 - e);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | ((e << 10) + roundShift(mant, 13));
}

/** bfloat16 bits of `x`, rounded to nearest even; NaN stays a quiet NaN. */
export function floatToBfloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function roundShift(v: number, shift: number): number {
  const kept = v >>> shift;
  const rem = v - kept * 2 ** shift;
  const mid = 2 ** (shift - 1);
  return rem > mid || (rem === mid && kept & 1) ? kept + 1 : kept;
}
