// readPth / readCheckpoint on torch.save-style archives built by the test writer: strided
// and shared storages, every readable dtype, the container variants, and each bad input.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readCheckpoint, readPth, readPthFile } from '../../src/model/weights/pth.js';
import { CheckpointError } from '../../src/model/weights/tensor-record.js';
import { encodeSafetensors } from '../../src/model/weights/safetensors-writer.js';
import { PickleWriter, buildTorchZip, buildZip, f32Bytes, i64Bytes, stateDictPickle, type TensorSpec } from './weights-builders.js';

const dir = mkdtempSync(join(tmpdir(), 'pipa-weights-pth-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function tmpFile(bytes: Buffer, name = `f${fileNo++}.pth`): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function expectCheckpointError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), `message should name the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

// One 24-element float storage whose value at i is i, so a view's expected value is
// simply its storage index: offset + Σ idx·stride.
const STORE = Array.from({ length: 24 }, (_, i) => i);
const views: Record<string, Omit<TensorSpec, 'storageType' | 'key' | 'numel'>> = {
  transposed: { offset: 0, shape: [2, 3], stride: [1, 2] },
  strided: { offset: 7, shape: [2, 2], stride: [6, 2] },
  slice: { offset: 10, shape: [4], stride: [1] },
  unitDimOddStride: { offset: 3, shape: [1, 3], stride: [99, 1] },
  scalar: { offset: 5, shape: [], stride: [] },
  broadcast: { offset: 2, shape: [3, 2], stride: [0, 1] },
  empty: { offset: 0, shape: [0, 4], stride: [4, 1] },
};

function expectedView(v: { offset: number; shape: number[]; stride: number[] }): number[] {
  const out: number[] = [];
  const rec = (d: number, at: number) => {
    if (d === v.shape.length) return void out.push(at);
    for (let i = 0; i < v.shape[d]; i++) rec(d + 1, at + i * v.stride[d]);
  };
  rec(0, v.offset);
  return out;
}

test('pth: strided views, storage offsets and a storage shared by every key', () => {
  const entries: Array<[string, TensorSpec]> = Object.entries(views).map(([k, v]) => [k, { storageType: 'FloatStorage', key: '0', numel: 24, ...v }]);
  for (const deflate of [false, true]) {
    const path = tmpFile(buildTorchZip(stateDictPickle(entries, 'state_dict'), { '0': f32Bytes(STORE) }, { dir: 'ckpt', deflate }));
    const r = readPth(path);
    assert.equal(r.container, 'state_dict');
    assert.deepEqual([...r.stateDict.keys()], Object.keys(views));
    for (const [k, v] of Object.entries(views)) {
      const rec = r.stateDict.get(k)!;
      assert.equal(rec.dtype, 'float32');
      assert.deepEqual(rec.shape, v.shape, k);
      assert.ok(rec.data instanceof Float32Array);
      assert.deepEqual([...rec.data], expectedView(v), k);
      assert.equal(r.storageOf.get(k), '0');
    }
    // Shared storage must not alias: each record owns its data.
    (r.stateDict.get('slice')!.data as Float32Array)[0] = -1;
    assert.equal(r.stateDict.get('transposed')!.data[0], 0);
  }
});

test('pth: dtypes — int64 to range-checked int32, float16/64, bool, uint8; {model: …} and ZIP64', () => {
  const half = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001]).buffer); // 1, -2, 0.333251953125, 2^-24
  const entries: Array<[string, TensorSpec | string]> = [
    ['bn.num_batches_tracked', { storageType: 'LongStorage', key: 'n', numel: 1, offset: 0, shape: [], stride: [] }],
    ['ints', { storageType: 'LongStorage', key: 'i', numel: 3, offset: 0, shape: [3], stride: [1] }],
    ['half', { storageType: 'HalfStorage', key: 'h', numel: 4, offset: 0, shape: [2, 2], stride: [2, 1] }],
    ['double', { storageType: 'DoubleStorage', key: 'd', numel: 2, offset: 0, shape: [2], stride: [1] }],
    ['mask', { storageType: 'BoolStorage', key: 'b', numel: 3, offset: 0, shape: [3], stride: [1] }],
    ['bytes', { storageType: 'ByteStorage', key: 'u', numel: 2, offset: 1, shape: [1], stride: [1] }],
    ['comment', 'not a tensor'],
  ];
  const storages = {
    n: i64Bytes([12345n]),
    i: i64Bytes([0n, -3n, 2147483647n]),
    h: half,
    d: Buffer.from(new Float64Array([0.1, -1e10]).buffer),
    b: Buffer.from([1, 0, 1]),
    u: Buffer.from([9, 200]),
  };
  const path = tmpFile(buildTorchZip(stateDictPickle(entries, 'model'), storages, { zip64: true }));
  const r = readPth(path);
  assert.equal(r.container, 'model');
  assert.deepEqual(r.ignored, ['comment']);
  const sd = r.stateDict;
  assert.equal(sd.get('bn.num_batches_tracked')!.dtype, 'int64');
  assert.ok(sd.get('bn.num_batches_tracked')!.data instanceof Int32Array);
  assert.deepEqual([...sd.get('bn.num_batches_tracked')!.data], [12345]);
  assert.deepEqual([...sd.get('ints')!.data], [0, -3, 2147483647]);
  assert.deepEqual([...sd.get('half')!.data], [1, -2, 0.333251953125, 2 ** -24]);
  assert.deepEqual([...sd.get('double')!.data], [Math.fround(0.1), -1e10]);
  assert.deepEqual([...sd.get('mask')!.data], [1, 0, 1]);
  assert.deepEqual([...sd.get('bytes')!.data], [200]);

  const big = tmpFile(buildTorchZip(stateDictPickle([['step', { storageType: 'LongStorage', key: '0', numel: 1, offset: 0, shape: [1], stride: [1] }]]), { '0': i64Bytes([2n ** 40n]) }));
  expectCheckpointError(() => readPthFile(big), big, /tensor 'step' holds int64 value 1099511627776 outside the int32 range/);
});

test('pth: raw dict (no wrapper) reads; readCheckpoint dispatches on content, not extension', () => {
  const entries: Array<[string, TensorSpec]> = [['w', { storageType: 'FloatStorage', key: '0', numel: 3, offset: 0, shape: [3], stride: [1] }]];
  const pth = tmpFile(buildTorchZip(stateDictPickle(entries), { '0': f32Bytes([1, 2, 3]) }), 'weights.safetensors');
  assert.equal(readPth(pth).container, 'raw');
  assert.deepEqual([...readCheckpoint(pth).get('w')!.data], [1, 2, 3]);
  const st = tmpFile(encodeSafetensors(new Map([['w', { dtype: 'float32', shape: [3], data: new Float32Array([4, 5, 6]) }]])), 'weights.pth');
  assert.deepEqual([...readCheckpoint(st).get('w')!.data], [4, 5, 6]);
  expectCheckpointError(() => readPthFile(st), st, /safetensors file, not a \.pth/);
});

test('pth: bad input → CheckpointError naming the file and the problem', () => {
  const good = buildTorchZip(stateDictPickle([['w', { storageType: 'FloatStorage', key: '0', numel: 4, offset: 0, shape: [4], stride: [1] }]]), { '0': f32Bytes([1, 2, 3, 4]) });

  const random = tmpFile(randomBytes(4096));
  expectCheckpointError(() => readCheckpoint(random), random, /not a checkpoint/);
  expectCheckpointError(() => readPthFile(random), random, /not a checkpoint/);
  const empty = tmpFile(Buffer.alloc(0));
  expectCheckpointError(() => readCheckpoint(empty), empty, /empty/);
  const missing = join(dir, 'does-not-exist.pth');
  expectCheckpointError(() => readCheckpoint(missing), missing, /cannot open/);
  expectCheckpointError(() => readCheckpoint(dir), dir, /cannot open/);

  for (const cut of [good.length - 3, Math.floor(good.length * 0.6), 40]) {
    const p = tmpFile(good.subarray(0, cut));
    expectCheckpointError(() => readCheckpoint(p), p, /truncated/);
  }

  const legacy = tmpFile(Buffer.concat([Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]), randomBytes(64)]));
  expectCheckpointError(() => readCheckpoint(legacy), legacy, /legacy.*re-save it with torch >= 1\.6/);

  const evil = new PickleWriter().proto(2).global('os', 'system').str('touch /tmp/pwned').opcode(0x85).reduce().stop().bytes();
  const evilPath = tmpFile(buildTorchZip(evil, {}));
  expectCheckpointError(() => readCheckpoint(evilPath), evilPath, /archive\/data\.pkl: refusing to load global 'os\.system'/);

  const complex = tmpFile(buildTorchZip(stateDictPickle([['z', { storageType: 'ComplexFloatStorage', key: '0', numel: 1, offset: 0, shape: [1], stride: [1] }]]), { '0': Buffer.alloc(8) }));
  expectCheckpointError(() => readCheckpoint(complex), complex, /tensor 'z' has dtype torch\.ComplexFloatStorage, which pipa cannot load/);

  const noRecord = tmpFile(buildTorchZip(stateDictPickle([['w', { storageType: 'FloatStorage', key: '7', numel: 4, offset: 0, shape: [4], stride: [1] }]]), {}));
  expectCheckpointError(() => readCheckpoint(noRecord), noRecord, /storage record 'archive\/data\/7' is missing/);

  const outside = tmpFile(buildTorchZip(stateDictPickle([['w', { storageType: 'FloatStorage', key: '0', numel: 4, offset: 2, shape: [3], stride: [1] }]]), { '0': f32Bytes([1, 2, 3, 4]) }));
  expectCheckpointError(() => readCheckpoint(outside), outside, /tensor 'w' .* reaches element 4 of a 4-element storage/);

  const short = tmpFile(buildTorchZip(stateDictPickle([['w', { storageType: 'FloatStorage', key: '0', numel: 4, offset: 0, shape: [4], stride: [1] }]]), { '0': f32Bytes([1, 2, 3]) }));
  expectCheckpointError(() => readCheckpoint(short), short, /tensor 'w': storage 0 has 12 bytes, expected 4 × 4/);

  const noTensors = tmpFile(buildTorchZip(new PickleWriter().proto(2).emptyDict().str('epoch').int(3).setitem().stop().bytes(), {}));
  expectCheckpointError(() => readCheckpoint(noTensors), noTensors, /no tensors found.*top-level keys: epoch/);

  const list = tmpFile(buildTorchZip(new PickleWriter().proto(2).emptyList().stop().bytes(), {}));
  expectCheckpointError(() => readCheckpoint(list), list, /top-level object is a list/);

  const script = tmpFile(buildZip([{ name: 'm/constants.pkl', data: Buffer.from('x') }, { name: 'm/code/m.py', data: Buffer.from('') }]));
  expectCheckpointError(() => readCheckpoint(script), script, /TorchScript/);

  const stHeader = (h: object, data: Buffer): Buffer => {
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  };
  const c64 = tmpFile(stHeader({ z: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), 'c64.safetensors');
  expectCheckpointError(() => readCheckpoint(c64), c64, /tensor 'z' has unsupported dtype C64/);
  const malformed = tmpFile(stHeader({ z: { dtype: 'F32', shape: [1] } }, Buffer.alloc(4)), 'bad-header.safetensors');
  expectCheckpointError(() => readCheckpoint(malformed), malformed, /header entry 'z' is malformed/);

  const plainZip = tmpFile(buildZip([{ name: 'readme.txt', data: Buffer.from('hi') }]));
  expectCheckpointError(() => readCheckpoint(plainZip), plainZip, /without <dir>\/data\.pkl/);
});
