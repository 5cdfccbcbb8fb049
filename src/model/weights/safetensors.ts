// safetensors: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets:[begin,end]}, __metadata__?}, then the raw bytes.
import { readFileSync } from 'node:fs';
import { CheckpointError, numel, type RecordDtype, type StateDict, type TensorRecord } from './tensor-record.js';

const DTYPES: Record<string, { dtype: RecordDtype; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F64: { dtype: 'float64', bytes: 8 },
  F16: { dtype: 'float16', bytes: 2 },
  BF16: { dtype: 'bfloat16', bytes: 2 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
  I16: { dtype: 'int16', bytes: 2 },
  I8: { dtype: 'int8', bytes: 1 },
  U8: { dtype: 'uint8', bytes: 1 },
  BOOL: { dtype: 'bool', bytes: 1 },
};

export function readSafetensorsFile(path: string): StateDict {
  return parseSafetensors(readFileSync(path), path);
}

export function parseSafetensors(buf: Buffer, file = '<buffer>'): StateDict {
  if (buf.length < 8) throw new CheckpointError(`not a safetensors file (only ${buf.length} bytes)`, file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) {
    throw new CheckpointError(`not a safetensors file or truncated (header length ${headerLen}, file ${buf.length} bytes)`, file);
  }
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw new CheckpointError(`safetensors header is not valid JSON (${(e as Error).message})`, file);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointError('safetensors header is not a JSON object', file);
  }
  const dataStart = 8 + headerLen;
  const out: StateDict = new Map();
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  for (const [name, info] of entries) checkEntry(name, info, file);
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  for (const [name, info] of entries) {
    const dt = DTYPES[info.dtype];
    if (!dt) throw new CheckpointError(`tensor '${name}' has unsupported dtype ${info.dtype}`, file);
    const shape: number[] = info.shape;
    const [begin, end] = info.data_offsets as [number, number];
    if (end - begin !== numel(shape) * dt.bytes) {
      throw new CheckpointError(`tensor '${name}': ${end - begin} bytes for shape [${shape}] of ${info.dtype}`, file);
    }
    if (dataStart + end > buf.length) {
      throw new CheckpointError(`truncated: tensor '${name}' ends at byte ${dataStart + end} but the file has ${buf.length}`, file);
    }
    out.set(name, decodeRaw(buf.subarray(dataStart + begin, dataStart + end), dt.dtype, shape, name, file));
  }
  return out;
}

/** Rejects header entries that are not {dtype: str, shape: int[], data_offsets: [begin, end]}. */
function checkEntry(name: string, info: any, file: string): void {
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const ok =
    info !== null &&
    typeof info === 'object' &&
    typeof info.dtype === 'string' &&
    Array.isArray(info.shape) &&
    info.shape.every(isCount) &&
    Array.isArray(info.data_offsets) &&
    info.data_offsets.length === 2 &&
    info.data_offsets.every(isCount) &&
    info.data_offsets[0] <= info.data_offsets[1];
  if (!ok) throw new CheckpointError(`safetensors header entry '${name}' is malformed: ${JSON.stringify(info)?.slice(0, 200)}`, file);
}

/** Decode little-endian raw bytes of `dtype` into a TensorRecord. */
export function decodeRaw(bytes: Buffer, dtype: RecordDtype, shape: number[], name: string, file: string): TensorRecord {
  const n = numel(shape);
  const copy = Buffer.from(bytes); // aligned private copy
  const ab = copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength);
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(ab, 0, n) };
    case 'float64':
      return { dtype, shape, data: Float32Array.from(new Float64Array(ab, 0, n)) };
    case 'float16':
      return { dtype, shape, data: halfToFloat(new Uint16Array(ab, 0, n)) };
    case 'bfloat16': {
      const u = new Uint16Array(ab, 0, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = u[i] << 16;
      return { dtype, shape, data: new Float32Array(out.buffer) };
    }
    case 'int64': {
      const big = new BigInt64Array(ab, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = big[i];
        if (v > 2147483647n || v < -2147483648n) {
          throw new CheckpointError(`tensor '${name}' holds int64 value ${v} outside the int32 range`, file);
        }
        out[i] = Number(v);
      }
      return { dtype, shape, data: out };
    }
    case 'int32':
      return { dtype, shape, data: new Int32Array(ab, 0, n) };
    case 'int16':
      return { dtype, shape, data: Int32Array.from(new Int16Array(ab, 0, n)) };
    case 'int8':
      return { dtype, shape, data: Int32Array.from(new Int8Array(ab, 0, n)) };
    case 'uint8':
    case 'bool':
      return { dtype, shape, data: new Uint8Array(ab, 0, n) };
  }
}

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const s = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 0x1f;
    const f = x & 0x3ff;
    out[i] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}
