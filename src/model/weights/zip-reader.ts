// Random-access ZIP reader for torch.save archives (and any plain ZIP): the central
// directory at the end lists every entry; entries are read on demand from the file,
// so a multi-GB checkpoint is never held in memory twice. Stored and deflated entries,
// ZIP64 sizes/offsets, CRC-32 verified on every read.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { CheckpointError } from './tensor-record.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const U32_MAX = 0xffffffff;

/** Positional reads from a file or an in-memory buffer. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Buffer;
  close(): void;
}

export function fileByteSource(path: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError(`cannot open (${(e as Error).message})`, path);
  }
  const size = fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) throw new CheckpointError(`unexpected end of file at byte ${offset + done}`, path);
        done += n;
      }
      return buf;
    },
    close: () => closeSync(fd),
  };
}

export function bufferByteSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read: (offset, length) => buf.subarray(offset, offset + length),
    close: () => {},
  };
}

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

/** True when the first bytes are a ZIP local file header (or an empty archive's EOCD). */
export function looksLikeZip(head: Buffer): boolean {
  return head.length >= 4 && (head.readUInt32LE(0) === SIG_LOCAL || head.readUInt32LE(0) === SIG_EOCD);
}

export class ZipArchive {
  /** Entries by name, in central-directory order. */
  readonly entries = new Map<string, ZipEntry>();

  private constructor(
    private readonly src: ByteSource,
    readonly file: string,
  ) {
    this.readCentralDirectory();
  }

  static open(path: string): ZipArchive {
    const src = fileByteSource(path);
    try {
      return new ZipArchive(src, path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  static fromBuffer(buf: Buffer, file = '<buffer>'): ZipArchive {
    return new ZipArchive(bufferByteSource(buf), file);
  }

  close(): void {
    this.src.close();
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry's uncompressed bytes, CRC-checked. */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) throw this.error(`archive has no entry '${name}'`);
    const local = this.readChecked(e.localHeaderOffset, 30, `local header of '${name}'`);
    if (local.readUInt32LE(0) !== SIG_LOCAL) throw this.error(`entry '${name}': bad local header signature (corrupt archive)`);
    const dataStart = e.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const raw = this.readChecked(dataStart, e.compressedSize, `data of entry '${name}'`);
    let data: Buffer;
    if (e.method === 0) {
      data = raw;
    } else {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        throw this.error(`entry '${name}': deflate stream is corrupt (${(err as Error).message})`);
      }
    }
    if (data.length !== e.size) throw this.error(`entry '${name}': ${data.length} bytes after decompression, directory says ${e.size}`);
    const crc = crc32(data) >>> 0;
    if (crc !== e.crc32) throw this.error(`entry '${name}': CRC-32 mismatch (corrupt archive)`);
    return data;
  }

  private error(msg: string): CheckpointError {
    return new CheckpointError(msg, this.file);
  }

  private readChecked(offset: number, length: number, what: string): Buffer {
    if (offset < 0 || offset + length > this.src.size) {
      throw this.error(`truncated: ${what} spans bytes ${offset}..${offset + length} but the file has ${this.src.size}`);
    }
    return this.src.read(offset, length);
  }

  private readCentralDirectory(): void {
    const size = this.src.size;
    if (size < EOCD_SIZE) throw this.error(`not a ZIP archive or truncated (${size} bytes)`);
    const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = size - tailLen;
    const tail = this.src.read(tailStart, tailLen);
    let eocd = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      // The comment length must reach exactly to the end of the file, which rules out
      // a signature that merely occurs inside entry data.
      if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw this.error('truncated or not a ZIP archive: end-of-central-directory record not found');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdAbs = tailStart + eocd;
    if (eocdAbs >= 20) {
      const loc = this.src.read(eocdAbs - 20, 20);
      if (loc.readUInt32LE(0) === SIG_ZIP64_LOCATOR) {
        const rec = this.readChecked(num64(loc, 8), 56, 'ZIP64 end-of-central-directory record');
        if (rec.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw this.error('ZIP64 end-of-central-directory record not found where the locator points');
        count = num64(rec, 32);
        cdSize = num64(rec, 40);
        cdOffset = num64(rec, 48);
      }
    }
    if (cdOffset + cdSize > eocdAbs) {
      throw this.error(`truncated or corrupt: central directory (bytes ${cdOffset}..${cdOffset + cdSize}) overlaps its end record at ${eocdAbs}`);
    }
    const cd = this.src.read(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw this.error(`central directory entry ${i} is corrupt`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      const entry: ZipEntry = {
        name,
        method,
        crc32: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
      };
      applyZip64Extra(entry, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
      if (flags & 1) throw this.error(`entry '${name}' is encrypted`);
      if (method !== 0 && method !== 8) throw this.error(`entry '${name}' uses compression method ${method}; only stored (0) and deflate (8) are supported`);
      this.entries.set(name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }
}

/** Replace 0xFFFF… placeholders with the 64-bit values of the ZIP64 extra field (id 1). */
function applyZip64Extra(e: ZipEntry, extra: Buffer): void {
  let q = 0;
  while (q + 4 <= extra.length) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 1) {
      let r = q + 4;
      const take = (): number => {
        const v = num64(extra, r);
        r += 8;
        return v;
      };
      if (e.size === U32_MAX) e.size = take();
      if (e.compressedSize === U32_MAX) e.compressedSize = take();
      if (e.localHeaderOffset === U32_MAX) e.localHeaderOffset = take();
      return;
    }
    q += 4 + len;
  }
}

function num64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(`64-bit ZIP field ${v} is too large`);
  return Number(v);
}
