// Wire codecs for the ring's payload: float32 as is, or float16 / bfloat16 (round to nearest
// even) to halve the bytes. Each codec reads/writes raw bytes (Uint8Array) so the caller never
// has to care whether a received gRPC buffer is 2- or 4-byte aligned: aligned payloads are
// viewed in place, misaligned ones are copied once into an aligned scratch (counted in
// `alignmentStats`, so benchmarks can tell how often it happened).
import type { WireDtypeName } from './chunk-wire.js';

export interface WireCodec {
  readonly dtype: WireDtypeName;
  readonly bytesPerElement: number;
  /** dst (src.length · bytesPerElement bytes) ← src. */
  encode(src: Float32Array, dst: Uint8Array): void;
  /** dst ← decode(src). */
  decodeInto(src: Uint8Array, dst: Float32Array): void;
  /** dst += decode(src). */
  decodeAdd(src: Uint8Array, dst: Float32Array): void;
  /** x ← decode(encode(x)): what every other rank will see of x. */
  quantize(x: Float32Array): void;
}

export const alignmentStats = { inPlace: 0, copied: 0, copiedBytes: 0 };

let scratch = new ArrayBuffer(1 << 16);

/** A typed view over `bytes`: in place when aligned, else a copy in a reused aligned scratch. */
function aligned<T extends Float32Array | Uint16Array>(bytes: Uint8Array, Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T {
  const n = bytes.byteLength / Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    alignmentStats.inPlace++;
    return new Ctor(bytes.buffer, bytes.byteOffset, n);
  }
  if (scratch.byteLength < bytes.byteLength) scratch = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(scratch, 0, bytes.byteLength).set(bytes);
  alignmentStats.copied++;
  alignmentStats.copiedBytes += bytes.byteLength;
  return new Ctor(scratch, 0, n);
}

function bytesOf(x: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

// ---- float16 --------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of x, round to nearest even; NaN stays NaN, overflow → ±Inf. */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  return halfFromFloatBits(u32[0]);
}

/** The same, from the float32 bit pattern (so bulk encoding reads a Uint32Array view). */
function halfFromFloatBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is right
  return sign | h;
}

/** All 65536 half values as float32, so decoding is one table load per element. */
const HALF_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 0x1f) t[h] = m === 0 ? s * Infinity : NaN;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

export function float16BitsToFloat32(h: number): number {
  return HALF_TABLE[h & 0xffff];
}

const float16: WireCodec = {
  dtype: 'FLOAT16',
  bytesPerElement: 2,
  encode(src, dst) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    const out = aligned(dst, Uint16Array);
    for (let i = 0; i < bits.length; i++) out[i] = halfFromFloatBits(bits[i]);
    if (out.buffer !== dst.buffer) dst.set(bytesOf(out));
  },
  decodeInto(src, dst) {
    const h = aligned(src, Uint16Array);
    for (let i = 0; i < h.length; i++) dst[i] = HALF_TABLE[h[i]];
  },
  decodeAdd(src, dst) {
    const h = aligned(src, Uint16Array);
    for (let i = 0; i < h.length; i++) dst[i] += HALF_TABLE[h[i]];
  },
  quantize(x) {
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (let i = 0; i < x.length; i++) x[i] = HALF_TABLE[halfFromFloatBits(bits[i])];
  },
};

// ---- bfloat16 -------------------------------------------------------------------------------

/** Reused scratch for widening bfloat16 to float32 bits before adding. */
let widened = new Uint32Array(0);

function bf16Bits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function float32ToBfloat16Bits(x: number): number {
  f32[0] = x;
  return bf16Bits(u32[0]);
}

const bfloat16: WireCodec = {
  dtype: 'BFLOAT16',
  bytesPerElement: 2,
  encode(src, dst) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    const out = aligned(dst, Uint16Array);
    for (let i = 0; i < bits.length; i++) out[i] = bf16Bits(bits[i]);
    if (out.buffer !== dst.buffer) dst.set(bytesOf(out));
  },
  decodeInto(src, dst) {
    const h = aligned(src, Uint16Array);
    const d = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
    for (let i = 0; i < h.length; i++) d[i] = h[i] << 16;
  },
  decodeAdd(src, dst) {
    const h = aligned(src, Uint16Array);
    if (widened.length < h.length) widened = new Uint32Array(h.length);
    const x = new Float32Array(widened.buffer, 0, h.length);
    for (let i = 0; i < h.length; i++) widened[i] = h[i] << 16;
    for (let i = 0; i < h.length; i++) dst[i] += x[i];
  },
  quantize(x) {
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (let i = 0; i < bits.length; i++) bits[i] = bf16Bits(bits[i]) << 16;
  },
};

// ---- float32 --------------------------------------------------------------------------------

const float32: WireCodec = {
  dtype: 'FLOAT32',
  bytesPerElement: 4,
  encode(src, dst) {
    dst.set(bytesOf(src)); // memcpy; alignment of dst is irrelevant
  },
  decodeInto(src, dst) {
    bytesOf(dst).set(src);
  },
  decodeAdd(src, dst) {
    const x = aligned(src, Float32Array);
    for (let i = 0; i < x.length; i++) dst[i] += x[i];
  },
  quantize() {},
};

const CODECS: Record<WireDtypeName, WireCodec> = { FLOAT32: float32, FLOAT16: float16, BFLOAT16: bfloat16 };

export type WireDtypeOption = 'f32' | 'f16' | 'bf16';
const OPTION_TO_DTYPE: Record<WireDtypeOption, WireDtypeName> = { f32: 'FLOAT32', f16: 'FLOAT16', bf16: 'BFLOAT16' };

export function wireCodec(dtype: WireDtypeName | WireDtypeOption): WireCodec {
  const name = (OPTION_TO_DTYPE as Record<string, WireDtypeName>)[dtype] ?? dtype;
  const codec = CODECS[name as WireDtypeName];
  if (!codec) throw new RangeError(`unknown wire dtype '${dtype}' (expected f32, f16 or bf16)`);
  return codec;
}
