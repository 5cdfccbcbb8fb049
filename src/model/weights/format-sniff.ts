// Tells checkpoint formats apart by their first bytes, never by the file extension
// (released checkpoints are .pth, .pt, .bin or .ckpt regardless of content).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { CheckpointError } from './tensor-record.js';
import { looksLikeZip } from './zip-reader.js';

export type CheckpointFormat = 'torch-zip' | 'torch-legacy' | 'torch-tar' | 'safetensors' | 'empty' | 'unknown';

/** Pickle of the legacy torch magic number 0x1950a86a20f9469cfc6c: PROTO 2, LONG1 10 bytes. */
const LEGACY_MAGIC = Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
const HEAD_BYTES = 512;
/** Headers beyond this size are not a safetensors file (the reference caps them at 100 MB). */
const MAX_SAFETENSORS_HEADER = 100_000_000;

export function sniffFormat(head: Buffer): CheckpointFormat {
  if (head.length === 0) return 'empty';
  if (looksLikeZip(head)) return 'torch-zip';
  if (head.length >= 2 + LEGACY_MAGIC.length && head[0] === 0x80 && head.subarray(2, 2 + LEGACY_MAGIC.length).equals(LEGACY_MAGIC)) {
    return 'torch-legacy';
  }
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'torch-tar';
  if (head.length >= 10 && head[8] === 0x7b /* '{' */) {
    const n = head.readBigUInt64LE(0);
    if (n >= 2n && n <= BigInt(MAX_SAFETENSORS_HEADER)) return 'safetensors';
  }
  return 'unknown';
}

/** Reads the first bytes of `path` and sniffs them; a missing/unreadable file is a CheckpointError. */
export function detectCheckpointFormat(path: string): CheckpointFormat {
  let fd: number;
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError(`cannot open (${(e as Error).message})`, path);
  }
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, head, 0, HEAD_BYTES, 0);
    return sniffFormat(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** The error for a file that is not in a format pipa reads. */
export function unreadableFormatError(format: CheckpointFormat, path: string): CheckpointError {
  const resave =
    "re-save it with torch >= 1.6: python -c \"import torch; torch.save(torch.load('IN', map_location='cpu'), 'OUT')\"";
  switch (format) {
    case 'empty':
      return new CheckpointError('file is empty, not a checkpoint', path);
    case 'torch-legacy':
      return new CheckpointError(`saved in PyTorch's legacy (pre-1.6, non-zip) format, which pipa does not read; ${resave}`, path);
    case 'torch-tar':
      return new CheckpointError(`saved in PyTorch's very old tar format, which pipa does not read; ${resave}`, path);
    default:
      return new CheckpointError(
        'not a checkpoint: neither a torch.save ZIP archive (.pth/.pt) nor a .safetensors file (unrecognised first bytes)',
        path,
      );
  }
}
