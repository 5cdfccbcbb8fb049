// Hand-written protobuf encoding of pipa.v1.RingChunk (protos/pipa/v1/peer.proto) for the hot
// path. protobufjs would copy the payload once to encode and grpc-js copies it again to frame
// it; writing header + payload ourselves keeps it to one copy (or to the fp16/bf16 encode) and
// lets us place the payload where the receiver can read it as float32 without another copy:
// grpc-js hands the deserializer `frame.subarray(5)` of a freshly allocated frame, so a payload
// at message offset ≡ 3 (mod 4) lands on a 4-byte boundary. The `pad` field buys that offset.
// Any protobuf decoder reads these bytes as a RingChunk (test/unit/comm/chunk-wire.test.ts).

export type RingPhaseName = 'REDUCE_SCATTER' | 'ALL_GATHER';
export type WireDtypeName = 'FLOAT32' | 'FLOAT16' | 'BFLOAT16';

export interface RingChunkHeader {
  generation: number;
  step: number;
  phase: RingPhaseName;
  segment: number;
  offset: number;
  byte_length: number;
  layout_hash: string;
  bucket: number;
  ring_step: number;
  wire_dtype: WireDtypeName;
}

export interface DecodedRingChunk extends RingChunkHeader {
  /** A view into the received frame (no copy); its byteOffset is aligned when the sender was us. */
  payload: Buffer;
}

export interface EncodedRingChunk {
  /** The whole RingChunk message, to hand to call.write(). */
  message: Buffer;
  /** The allocation behind `message` (give it back to a BufferPool once grpc-js has framed it). */
  backing: Buffer;
  /** Where the payload goes: byte_length bytes, 4-byte aligned in memory. Fill it before writing. */
  payload: Uint8Array;
}

export class RingChunkDecodeError extends Error {
  override name = 'RingChunkDecodeError';
}

const PHASE_NUMBER: Record<RingPhaseName, number> = { REDUCE_SCATTER: 1, ALL_GATHER: 2 };
const PHASE_NAME: Record<number, RingPhaseName> = { 1: 'REDUCE_SCATTER', 2: 'ALL_GATHER' };
const DTYPE_NUMBER: Record<WireDtypeName, number> = { FLOAT32: 1, FLOAT16: 2, BFLOAT16: 3 };
const DTYPE_NAME: Record<number, WireDtypeName> = { 1: 'FLOAT32', 2: 'FLOAT16', 3: 'BFLOAT16' };

const F = { generation: 1, step: 2, phase: 3, segment: 4, offset: 5, byte_length: 6, layout_hash: 7, bucket: 8, ring_step: 9, wire_dtype: 10, pad: 14, payload: 15 } as const;
const VARINT = 0;
const LEN = 2;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`RingChunk: ${v} is not an unsigned safe integer`);
  while (v >= 128) {
    buf[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Reuses message buffers of one capacity: grpc-js copies each message into its own frame, so
 * ours is free again once the write callback fires; reusing it spares an allocation and GC
 * work per chunk.
 */
export class BufferPool {
  private free: Buffer[] = [];
  constructor(private readonly capacity: number, private readonly keep = 8) {}

  take(bytes: number): Buffer {
    if (bytes > this.capacity) return Buffer.allocUnsafeSlow(bytes);
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.capacity);
  }

  give(buf: Buffer): void {
    if (buf.length === this.capacity && this.free.length < this.keep) this.free.push(buf);
  }
}

/** Fill everything but the payload bytes (into a buffer from `pool` when given). */
export function encodeRingChunk(h: RingChunkHeader, pool?: BufferPool): EncodedRingChunk {
  const hash = Buffer.from(h.layout_hash, 'utf8');
  const varints: [number, number][] = [
    [F.generation, h.generation],
    [F.step, h.step],
    [F.phase, PHASE_NUMBER[h.phase]],
    [F.segment, h.segment],
    [F.offset, h.offset],
    [F.byte_length, h.byte_length],
    [F.bucket, h.bucket],
    [F.ring_step, h.ring_step],
    [F.wire_dtype, DTYPE_NUMBER[h.wire_dtype]],
  ];
  let head = 0;
  for (const [, v] of varints) head += 1 + varintSize(v);
  head += 1 + varintSize(hash.length) + hash.length;
  const payloadPrefix = 1 + varintSize(h.byte_length);
  // pad field = tag + 1-byte length + padLen; choose padLen so payload starts at ≡ 3 (mod 4).
  const padLen = (((3 - (head + 2 + payloadPrefix)) % 4) + 4) % 4;
  const payloadStart = head + 2 + padLen + payloadPrefix;
  const total = payloadStart + h.byte_length;

  // One spare byte in front makes the payload 4-byte aligned in OUR memory too (1 + 3 ≡ 0).
  const raw = pool ? pool.take(total + 1) : Buffer.allocUnsafeSlow(total + 1);
  const msg = raw.subarray(1, total + 1);
  let p = 0;
  for (const [field, v] of varints) {
    msg[p++] = (field << 3) | VARINT;
    p = writeVarint(msg, p, v);
  }
  msg[p++] = (F.layout_hash << 3) | LEN;
  p = writeVarint(msg, p, hash.length);
  msg.set(hash, p);
  p += hash.length;
  msg[p++] = (F.pad << 3) | LEN;
  msg[p++] = padLen;
  msg.fill(0, p, p + padLen);
  p += padLen;
  msg[p++] = (F.payload << 3) | LEN;
  p = writeVarint(msg, p, h.byte_length);
  if (p !== payloadStart) throw new Error(`RingChunk encoder: payload at ${p}, expected ${payloadStart}`);
  if (raw.byteOffset % 4 !== 0) throw new Error('RingChunk encoder: backing buffer must start 4-byte aligned');
  return { message: msg, backing: raw, payload: new Uint8Array(raw.buffer, raw.byteOffset + 1 + payloadStart, h.byte_length) };
}

/** Parse a RingChunk; unknown fields are skipped, the payload is a view into `bytes`. */
export function decodeRingChunk(bytes: Buffer): DecodedRingChunk {
  const out: DecodedRingChunk = {
    generation: 0, step: 0, phase: 'REDUCE_SCATTER', segment: 0, offset: 0, byte_length: 0,
    layout_hash: '', bucket: 0, ring_step: 0, wire_dtype: 'FLOAT32', payload: bytes.subarray(0, 0),
  };
  let phase = 0;
  let dtype = 0;
  let p = 0;
  const readVarint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (p >= bytes.length) throw new RingChunkDecodeError('RingChunk: truncated varint');
      const b = bytes[p++];
      v += (b & 127) * mul;
      if (b < 128) return v;
      mul *= 128;
      if (mul > 2 ** 63) throw new RingChunkDecodeError('RingChunk: varint longer than 64 bits');
    }
  };
  while (p < bytes.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === VARINT) {
      const v = readVarint();
      switch (field) {
        case F.generation: out.generation = v; break;
        case F.step: out.step = v; break;
        case F.phase: phase = v; break;
        case F.segment: out.segment = v; break;
        case F.offset: out.offset = v; break;
        case F.byte_length: out.byte_length = v; break;
        case F.bucket: out.bucket = v; break;
        case F.ring_step: out.ring_step = v; break;
        case F.wire_dtype: dtype = v; break;
        default: break;
      }
    } else if (wire === LEN) {
      const len = readVarint();
      if (p + len > bytes.length) throw new RingChunkDecodeError(`RingChunk: field ${field} runs past the end (${p + len} > ${bytes.length})`);
      if (field === F.layout_hash) out.layout_hash = bytes.toString('utf8', p, p + len);
      else if (field === F.payload) out.payload = bytes.subarray(p, p + len);
      p += len;
    } else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else throw new RingChunkDecodeError(`RingChunk: unsupported wire type ${wire} for field ${field}`);
  }
  const phaseName = PHASE_NAME[phase];
  const dtypeName = DTYPE_NAME[dtype];
  if (!phaseName) throw new RingChunkDecodeError(`RingChunk: unknown phase ${phase}`);
  if (!dtypeName) throw new RingChunkDecodeError(`RingChunk: unknown wire_dtype ${dtype}`);
  out.phase = phaseName;
  out.wire_dtype = dtypeName;
  return out;
}
