// Test-only writers for the formats the weight readers parse: a pickle opcode emitter, a
// ZIP writer (stored/deflate, optional ZIP64) and a torch.save-style archive builder.
// They follow the published formats, not the readers, so the tests can catch reader bugs.
import { deflateRawSync, crc32 } from 'node:zlib';

export class PickleWriter {
  private readonly parts: Buffer[] = [];
  private op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  proto(v = 2): this { return this.op(0x80, v); }
  mark(): this { return this.op(0x28); }
  stop(): this { return this.op(0x2e); }
  none(): this { return this.op(0x4e); }
  bool(b: boolean): this { return this.op(b ? 0x88 : 0x89); }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58).raw(len).raw(b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a).raw(b);
  }
  /** LONG1 with a little-endian two's-complement body of `nbytes`. */
  long(v: bigint, nbytes: number): this {
    const b = Buffer.alloc(nbytes);
    let x = v < 0n ? (1n << BigInt(8 * nbytes)) + v : v;
    for (let i = 0; i < nbytes; i++) {
      b[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return this.op(0x8a, nbytes).raw(b);
  }
  float(x: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(x);
    return this.op(0x47).raw(b);
  }
  emptyDict(): this { return this.op(0x7d); }
  emptyList(): this { return this.op(0x5d); }
  emptyTuple(): this { return this.op(0x29); }
  tuple(): this { return this.op(0x74); }
  tuple2(): this { return this.op(0x86); }
  setitem(): this { return this.op(0x73); }
  setitems(): this { return this.op(0x75); }
  appends(): this { return this.op(0x65); }
  global(module: string, name: string): this {
    return this.op(0x63).raw(Buffer.from(`${module}\n${name}\n`, 'utf8'));
  }
  stackGlobal(module: string, name: string): this { return this.str(module).str(name).op(0x93); }
  reduce(): this { return this.op(0x52); }
  build(): this { return this.op(0x62); }
  binpersid(): this { return this.op(0x51); }
  put(i: number): this { return this.op(0x71, i); }
  get(i: number): this { return this.op(0x68, i); }
  memoize(): this { return this.op(0x94); }
  opcode(code: number): this { return this.op(code); }
  intTuple(xs: readonly number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface TensorSpec {
  storageType: string; // e.g. 'FloatStorage'
  key: string;
  /** Elements in the storage. */
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** Emits torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
export function writeTensor(w: PickleWriter, t: TensorSpec): void {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).tuple().binpersid();
  w.int(t.offset).intTuple(t.shape).intTuple(t.stride).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  w.tuple().reduce();
}

/** A state-dict pickle: OrderedDict of the entries, optionally wrapped as {'meta': {...}, wrapKey: sd}. */
export function stateDictPickle(entries: Array<[string, TensorSpec | string]>, wrapKey?: string): Buffer {
  const w = new PickleWriter().proto(2);
  if (wrapKey) w.emptyDict().mark().str('meta').emptyDict().str('note').str('test').setitem().str(wrapKey);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const [k, v] of entries) {
    w.str(k);
    if (typeof v === 'string') w.str(v);
    else writeTensor(w, v);
  }
  w.setitems();
  if (wrapKey) w.setitems();
  return w.stop().bytes();
}

export interface ZipInput {
  name: string;
  data: Buffer;
  deflate?: boolean;
}

/** A ZIP archive; with zip64, sizes/offsets go through ZIP64 extra fields and end records. */
export function buildZip(entries: ZipInput[], opts: { zip64?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const FF = 0xffffffff;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const crc = crc32(e.data) >>> 0;
    const z64 = Buffer.alloc(opts.zip64 ? 4 + 24 : 0);
    if (opts.zip64) {
      z64.writeUInt16LE(1, 0);
      z64.writeUInt16LE(24, 2);
      z64.writeBigUInt64LE(BigInt(e.data.length), 4);
      z64.writeBigUInt64LE(BigInt(body.length), 12);
      z64.writeBigUInt64LE(BigInt(offset), 20);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    cd.writeUInt16LE(opts.zip64 ? 45 : 20, 6);
    cd.writeUInt16LE(e.deflate ? 8 : 0, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(opts.zip64 ? FF : body.length, 20);
    cd.writeUInt32LE(opts.zip64 ? FF : e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(z64.length, 30);
    cd.writeUInt32LE(opts.zip64 ? FF : offset, 42);
    chunks.push(local, name, body);
    central.push(cd, name, z64);
    offset += local.length + name.length + body.length;
  }
  const cdBuf = Buffer.concat(central);
  const cdOffset = offset;
  const tail: Buffer[] = [cdBuf];
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cdBuf.length), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cdBuf.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(opts.zip64 ? FF : cdBuf.length, 12);
  eocd.writeUInt32LE(opts.zip64 ? FF : cdOffset, 16);
  tail.push(eocd);
  return Buffer.concat([...chunks, ...tail]);
}

/** A torch.save-style archive: `<dir>/data.pkl`, `<dir>/data/<key>`, `<dir>/version`. */
export function buildTorchZip(pickle: Buffer, storages: Record<string, Buffer>, opts: { dir?: string; deflate?: boolean; zip64?: boolean } = {}): Buffer {
  const dir = opts.dir ?? 'archive';
  const entries: ZipInput[] = [{ name: `${dir}/data.pkl`, data: pickle, deflate: opts.deflate }];
  for (const [key, data] of Object.entries(storages)) entries.push({ name: `${dir}/data/${key}`, data, deflate: opts.deflate });
  entries.push({ name: `${dir}/version`, data: Buffer.from('3\n') });
  return buildZip(entries, { zip64: opts.zip64 });
}

export function f32Bytes(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer);
}

export function i64Bytes(values: bigint[]): Buffer {
  return Buffer.from(new BigInt64Array(values).buffer);
}
