// safetensors writer: byte layout per the format (aligned header, dtype-then-name order,
// contiguous offsets), lossless round trips for every dtype, fp16/bf16 rounding, and
// atomic replacement that never leaves a half-written file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, writeSafetensorsFile } from '../../src/model/weights/safetensors-writer.js';
import { decodeRaw, parseSafetensors, readSafetensorsFile } from '../../src/model/weights/safetensors.js';
import { floatToBfloat16Bits, floatToHalfBits } from '../../src/model/weights/encode-raw.js';
import { convertWeights } from '../../src/model/weights/convert.js';
import { CheckpointError, type StateDict, type TensorRecord } from '../../src/model/weights/tensor-record.js';
import { buildTorchZip, f32Bytes, i64Bytes, stateDictPickle, type TensorSpec } from './weights-builders.js';

const dir = mkdtempSync(join(tmpdir(), 'pipa-weights-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sample(): StateDict {
  return new Map<string, TensorRecord>([
    ['z.weight', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, Infinity]) }],
    ['9', { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 128, 255]) }],
    ['10', { dtype: 'int64', shape: [2], data: new Int32Array([-1, 2147483647]) }],
    ['a.num_batches_tracked', { dtype: 'int64', shape: [], data: new Int32Array([7]) }],
    ['h', { dtype: 'float16', shape: [2], data: new Float32Array([0.5, -65504]) }],
    ['bf', { dtype: 'bfloat16', shape: [1], data: new Float32Array([-3]) }],
    ['d', { dtype: 'float64', shape: [1], data: new Float32Array([0.25]) }],
    ['i32', { dtype: 'int32', shape: [1], data: new Int32Array([-5]) }],
    ['i16', { dtype: 'int16', shape: [2], data: new Int32Array([-32768, 32767]) }],
    ['i8', { dtype: 'int8', shape: [1], data: new Int32Array([-128]) }],
    ['flag', { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }],
    ['empty', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }],
  ]);
}

function assertSameDict(actual: StateDict, expected: StateDict): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    assert.equal(a.dtype, e.dtype, k);
    assert.deepEqual(a.shape, e.shape, k);
    assert.equal(a.data.constructor, e.data.constructor, k);
    assert.deepEqual([...a.data], [...e.data], k);
  }
}

test('writer: file layout follows the safetensors format', () => {
  const buf = encodeSafetensors(sample(), { format: 'pt', '0': 'x' });
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal(n % 8, 0, 'header padded to 8 bytes');
  const text = buf.toString('utf8', 8, 8 + n);
  assert.match(text, /^\{"__metadata__":\{/);
  assert.match(text, /\} *$/);
  const header = JSON.parse(text);
  assert.deepEqual(header.__metadata__, { format: 'pt', '0': 'x' });
  const order = [...text.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
  // Reference order: widest dtype first (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL), then name bytewise.
  assert.deepEqual(order, ['10', 'a.num_batches_tracked', 'd', 'empty', 'z.weight', 'i32', 'bf', 'h', 'i16', 'i8', '9', 'flag']);
  let end = 0;
  for (const name of order) {
    const { dtype, data_offsets: [b, e] } = header[name];
    assert.equal(b, end, `${name} starts where the previous ended`);
    const size = { I64: 8, F64: 8, F32: 4, I32: 4, BF16: 2, F16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 }[dtype as string]!;
    assert.equal(b % size, 0, `${name} aligned`);
    end = e;
  }
  assert.equal(8 + n + end, buf.length, 'offsets cover the data exactly');
  // int64 stays int64 on disk: sign-extended 8-byte values.
  const [b0] = header['10'].data_offsets;
  assert.deepEqual([...new BigInt64Array(buf.buffer.slice(buf.byteOffset + 8 + n + b0, buf.byteOffset + 8 + n + b0 + 16))], [-1n, 2147483647n]);
});

test('writer: every dtype round-trips through the reader unchanged', () => {
  const sd = sample();
  assertSameDict(parseSafetensors(encodeSafetensors(sd)), sd);
  const path = join(dir, 'rt.safetensors');
  const res = writeSafetensorsFile(path, sd);
  assert.equal(res.tensors, sd.size);
  assert.equal(res.bytes, readFileSync(path).length);
  assertSameDict(readSafetensorsFile(path), sd);
});

test('fp16 / bf16 encoders: exact on every representable value, round to nearest even between', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = decodeRaw(Buffer.from(new Uint16Array([h]).buffer), 'float16', [1], 'h', 'mem').data[0];
    if (Number.isNaN(v)) assert.ok(Number.isNaN(decodeRaw(Buffer.from(new Uint16Array([floatToHalfBits(v)]).buffer), 'float16', [1], 'h', 'mem').data[0]));
    else assert.equal(floatToHalfBits(v), h, `half 0x${h.toString(16)} = ${v}`);
    const b = decodeRaw(Buffer.from(new Uint16Array([h]).buffer), 'bfloat16', [1], 'b', 'mem').data[0];
    if (!Number.isNaN(b)) assert.equal(floatToBfloat16Bits(b), h, `bf16 0x${h.toString(16)}`);
  }
  // IEEE binary16 rounding (values from the definition, not from the encoder).
  assert.equal(floatToHalfBits(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(floatToHalfBits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(floatToHalfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // above the tie
  assert.equal(floatToHalfBits(65519), 0x7bff);
  assert.equal(floatToHalfBits(65520), 0x7c00); // rounds to infinity
  assert.equal(floatToHalfBits(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal → 0
  assert.equal(floatToHalfBits(1.5 * 2 ** -25), 0x0001);
  assert.equal(floatToHalfBits(-(2 ** -26)), 0x8000);
  assert.equal(floatToBfloat16Bits(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(floatToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
});

test('writer: atomic — replaces an existing file, and a bad tensor leaves the old file and no temp file', () => {
  const path = join(dir, 'atomic.safetensors');
  writeFileSync(path, 'old contents');
  writeSafetensorsFile(path, sample());
  assertSameDict(readSafetensorsFile(path), sample());
  const before = readFileSync(path);

  const bad = sample();
  bad.set('broken', { dtype: 'float32', shape: [4], data: new Float32Array(3) });
  assert.throws(() => writeSafetensorsFile(path, bad), (e: unknown) => e instanceof CheckpointError && /tensor 'broken' has 3 values for shape \[4\]/.test(e.message) && e.message.startsWith(path));
  const badRange = new Map([['s', { dtype: 'int16' as const, shape: [1], data: new Int32Array([40000]) }]]);
  assert.throws(() => writeSafetensorsFile(path, badRange), /tensor 's' holds 40000, outside int16/);
  const badKind = new Map([['k', { dtype: 'int64' as const, shape: [1], data: new Float32Array([1]) }]]);
  assert.throws(() => writeSafetensorsFile(path, badKind), /tensor 'k' of dtype int64 holds a Float32Array, expected Int32Array/);
  assert.throws(() => writeSafetensorsFile(path, new Map([['__metadata__', sample().get('9')!]])), /__metadata__/);
  assert.ok(readFileSync(path).equals(before), 'old file untouched');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left');

  const nowhere = join(dir, 'missing-dir', 'x.safetensors');
  assert.throws(() => writeSafetensorsFile(nowhere, sample()), (e: unknown) => e instanceof CheckpointError && /cannot write/.test(e.message));
  assert.equal(existsSync(nowhere), false);
});

test('convertWeights: .pth → .safetensors keeps names, dtypes (int64 → I64) and values', () => {
  const entries: Array<[string, TensorSpec]> = [
    ['backbone.w', { storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, shape: [3, 2], stride: [1, 3] }],
    ['backbone.bn.num_batches_tracked', { storageType: 'LongStorage', key: '1', numel: 1, offset: 0, shape: [], stride: [] }],
  ];
  const src = join(dir, 'in.pth');
  writeFileSync(src, buildTorchZip(stateDictPickle(entries, 'state_dict'), { '0': f32Bytes([0, 1, 2, 3, 4, 5]), '1': i64Bytes([42n]) }));
  const out = join(dir, 'out.safetensors');
  const res = convertWeights(src, out);
  assert.equal(res.layout, 'segmentor');
  assert.equal(res.tensors, 2);
  assert.equal(res.bytes, readFileSync(out).length);
  const back = readSafetensorsFile(out);
  assert.deepEqual([...back.get('backbone.w')!.data], [0, 3, 1, 4, 2, 5]);
  assert.equal(back.get('backbone.bn.num_batches_tracked')!.dtype, 'int64');
  const header = JSON.parse(readFileSync(out).toString('utf8', 8, 8 + Number(readFileSync(out).readBigUInt64LE(0))));
  assert.equal(header['backbone.bn.num_batches_tracked'].dtype, 'I64');
  assert.equal(header.__metadata__.layout, 'segmentor');
  assert.equal(header.__metadata__.format, 'pt');
});
