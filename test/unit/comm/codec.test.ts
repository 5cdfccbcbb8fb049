import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignmentStats, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits, wireCodec } from '../../../src/comm/codec.js';
import { rngFor } from '../../../src/common/random.js';

test('float16: IEEE bit patterns of known values', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
    [0.1, 0x2e66], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [65520, 0x7c00], // halfway between max half and 2^16 rounds to even → overflow
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal → even (0)
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units → even (2)
    [1 + 2 ** -11, 0x3c00], // tie → even mantissa
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [x, bits] of cases) assert.equal(float32ToFloat16Bits(x), bits, `f16(${x})`);
  assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
});

test('float16: every half value survives decode→encode, and encode picks the nearest half', () => {
  for (let h = 0; h < 65536; h++) {
    const x = float16BitsToFloat32(h);
    if (Number.isNaN(x)) continue;
    assert.equal(float32ToFloat16Bits(x), h, `half 0x${h.toString(16)}`);
  }
  const rng = rngFor(7, 'f16');
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround((rng.random() - 0.5) * 2 ** rng.randint(-20, 16));
    const h = float32ToFloat16Bits(x);
    const y = float16BitsToFloat32(h);
    // neighbours of h in magnitude are never closer to x
    for (const nb of [h - 1, h + 1]) {
      if ((nb & 0x7fff) >= 0x7c00 || nb < 0 || (nb ^ h) & 0x8000) continue;
      assert.ok(Math.abs(float16BitsToFloat32(nb) - x) >= Math.abs(y - x), `x=${x}: 0x${h.toString(16)} is not nearest`);
    }
  }
});

test('bfloat16: known bit patterns and round to nearest even', () => {
  const cases: [number, number][] = [[1, 0x3f80], [-2, 0xc000], [0.1, 0x3dcd], [Infinity, 0x7f80], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82]];
  for (const [x, bits] of cases) assert.equal(float32ToBfloat16Bits(x), bits, `bf16(${x})`);
  assert.equal(float32ToBfloat16Bits(NaN) & 0x7fc0, 0x7fc0);
});

for (const dtype of ['f32', 'f16', 'bf16'] as const) {
  test(`${dtype} codec: encode/decodeInto/decodeAdd/quantize agree, aligned or not`, () => {
    const codec = wireCodec(dtype);
    const rng = rngFor(3, dtype);
    const x = Float32Array.from({ length: 1001 }, () => (rng.random() - 0.5) * 100);
    for (const misalign of [0, 1, 2, 3]) {
      const raw = new Uint8Array(x.length * codec.bytesPerElement + 8);
      const wire = raw.subarray(misalign, misalign + x.length * codec.bytesPerElement);
      codec.encode(x, wire);
      const q = Float32Array.from(x);
      codec.quantize(q);
      const back = new Float32Array(x.length);
      const before = alignmentStats.copied;
      codec.decodeInto(wire, back);
      assert.deepEqual(back, q, `decode(encode(x)) = quantize(x), misalign ${misalign}`);
      const acc = Float32Array.from({ length: x.length }, (_, i) => i);
      codec.decodeAdd(wire, acc);
      for (let i = 0; i < x.length; i++) assert.equal(acc[i], Math.fround(i + q[i]));
      if (dtype !== 'f32' && misalign % 2 === 1) assert.ok(alignmentStats.copied > before, 'odd offsets go through the aligned scratch');
      const tol = dtype === 'f32' ? 0 : dtype === 'f16' ? 2 ** -11 : 2 ** -8;
      let maxRel = 0;
      for (let i = 0; i < x.length; i++) maxRel = Math.max(maxRel, Math.abs(q[i] - x[i]) / Math.abs(x[i]));
      console.log(`${dtype} misalign ${misalign}: max rel error ${maxRel.toExponential(3)} (bound ${tol})`);
      assert.ok(maxRel <= tol);
    }
  });
}
