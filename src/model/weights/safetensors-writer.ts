// Writes .safetensors the way the reference implementation does: tensors ordered by dtype
// (widest first, the reference's Dtype enum order, so every tensor stays aligned to its
// element size) and then by name, packed back to back, the JSON header padded with spaces
// to a multiple of 8 bytes so the data starts 8-byte aligned. The file appears atomically (temp file, fsync, rename):
// a crash or a bad tensor never leaves a half-written checkpoint under the target name.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SAFETENSORS_DTYPE, encodeRaw, encodedByteLength, validateRecord } from './encode-raw.js';
import { CheckpointError, type StateDict, type TensorRecord } from './tensor-record.js';

export interface SafetensorsWriteResult {
  tensors: number;
  /** Size of the whole file. */
  bytes: number;
}

/** The reference's Dtype enum order (narrowest first) for the dtypes pipa writes. */
const DTYPE_RANK = ['BOOL', 'U8', 'I8', 'I16', 'F16', 'BF16', 'I32', 'F32', 'F64', 'I64'];

interface Plan {
  header: Buffer;
  tensors: Array<[string, TensorRecord]>;
  bytes: number;
}

function plan(sd: StateDict, metadata: Record<string, string> | undefined, file?: string): Plan {
  const tensors = [...sd].sort(
    ([a, ra], [b, rb]) => DTYPE_RANK.indexOf(SAFETENSORS_DTYPE[rb.dtype]) - DTYPE_RANK.indexOf(SAFETENSORS_DTYPE[ra.dtype]) || Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
  // Built by hand: JSON.stringify of an object would move integer-like names ("0") first.
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(`metadata '${k}' must be a string (safetensors allows only str → str)`, file);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, rec] of tensors) {
    if (name === '__metadata__') throw new CheckpointError("a tensor cannot be named '__metadata__'", file);
    validateRecord(name, rec, file);
    const size = encodedByteLength(rec);
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: SAFETENSORS_DTYPE[rec.dtype], shape: rec.shape, data_offsets: [offset, offset + size] })}`);
    offset += size;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  const header = Buffer.alloc(8 + padded.length);
  header.writeBigUInt64LE(BigInt(padded.length), 0);
  padded.copy(header, 8);
  return { header, tensors, bytes: header.length + offset };
}

/** The whole file as one buffer (for small dicts and for sending over the wire). */
export function encodeSafetensors(sd: StateDict, metadata?: Record<string, string>): Buffer {
  const p = plan(sd, metadata);
  return Buffer.concat([p.header, ...p.tensors.map(([, rec]) => encodeRaw(rec))], p.bytes);
}

/** Writes `sd` to `path` atomically; every tensor is validated before the file is created. */
export function writeSafetensorsFile(path: string, sd: StateDict, metadata?: Record<string, string>): SafetensorsWriteResult {
  const p = plan(sd, metadata, path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    writeAll(fd, p.header);
    for (const [, rec] of p.tensors) writeAll(fd, encodeRaw(rec));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone (rename succeeded or open failed)
    }
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`cannot write (${(e as Error).message})`, path);
  }
  syncDirectory(dirname(path));
  return { tensors: p.tensors.length, bytes: p.bytes };
}

function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

/** Makes the rename durable; not every filesystem allows opening a directory, so best effort. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // ignore: durability of the directory entry is an extra, not a requirement
  }
}
