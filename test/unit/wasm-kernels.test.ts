// Every kernel registerWasmTrainingKernels() adds or replaces on the wasm backend must give
// the cpu backend's result on random inputs (depthwise gradients: a float64 loop over the
// forward definition, since the cpu backend ignores dilation there), for the stride/padding/dilation variants the
// model uses (patch embeds 7/4/3 and 3/2/1, spatial reduction k = s, 1×1 and 3×3 head
// convs, atrous depthwise) plus odd, non-square and 'same' cases. Skipped, with the reason
// printed, only if the wasm backend cannot load here.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { rngFor } from '../../src/common/random.js';
import { selectBackend } from '../../src/model/backend.js';
import { registerWasmTrainingKernels } from '../../src/model/wasm/register.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

let wasmMissing: string | null = null;
before(async () => {
  try {
    await selectBackend('wasm');
    registerWasmTrainingKernels();
  } catch (e) {
    wasmMissing = (e as Error).message;
  }
});

type Spec = { shape: number[]; dtype?: 'float32' | 'int32'; values?: number[] };
interface Case {
  kernel: string;
  /** Independent reference instead of the cpu backend (which ignores dilation in these gradients). */
  reference?: (inputs: Record<string, { shape: number[]; vals: Float32Array }>) => { shape: number[]; vals: Float64Array };
  label: string;
  inputs: Record<string, Spec> | Spec[];
  attrs: object;
  atol?: number;
}

/** Deterministic inputs: given values, or standard normals seeded by the case label. */
function materialise(c: Case): Record<string, tf.Tensor> | tf.Tensor[] {
  const make = (s: Spec, key: string) => {
    if (s.values) return tf.tensor(s.values, s.shape, s.dtype ?? 'float32');
    const rng = rngFor(7, c.kernel, c.label, key);
    const n = s.shape.reduce((p, d) => p * d, 1);
    return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), s.shape, s.dtype ?? 'float32');
  };
  return Array.isArray(c.inputs) ? c.inputs.map((s, i) => make(s, String(i))) : Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, make(s, k)]));
}

/** The case's inputs read back as plain arrays (for the float64 references). */
function inputArrays(c: Case): Record<string, { shape: number[]; vals: Float32Array }> {
  return tf.tidy(() => {
    const m = materialise(c) as Record<string, tf.Tensor>;
    return Object.fromEntries(Object.entries(m).map(([k, t]) => [k, { shape: [...t.shape], vals: t.dataSync() as Float32Array }]));
  });
}

/**
 * Depthwise conv gradients straight from the forward definition, in float64:
 *   y[b,oh,ow,c·M+m] = Σ_ij x[b, oh·s − pt + i·d, ow·s − pl + j·d, c] · W[i,j,c,m]
 * visits every (output, tap) pair and accumulates into dW or dx.
 */
function depthwiseReference(kind: 'filter' | 'input', xShape: number[], fShape: number[], s: number, pad: number, d: number) {
  return (inp: Record<string, { shape: number[]; vals: Float32Array }>) => {
    const [B, H, W, C] = xShape;
    const [KH, KW, , M] = fShape;
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], s, d, pad, undefined, true);
    const { outHeight: OH, outWidth: OW } = info;
    const { top, left } = info.padInfo;
    const dy = inp.dy.vals;
    const other = kind === 'filter' ? inp.x.vals : inp.filter.vals;
    const out = new Float64Array(kind === 'filter' ? KH * KW * C * M : B * H * W * C);
    for (let b = 0; b < B; b++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let i = 0; i < KH; i++)
            for (let j = 0; j < KW; j++) {
              const h = oh * s - top + i * d;
              const w = ow * s - left + j * d;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              for (let c = 0; c < C; c++)
                for (let m = 0; m < M; m++) {
                  const g = dy[((b * OH + oh) * OW + ow) * C * M + c * M + m];
                  const xi = ((b * H + h) * W + w) * C + c;
                  const fi = ((i * KW + j) * C + c) * M + m;
                  if (kind === 'filter') out[fi] += other[xi] * g;
                  else out[xi] += other[fi] * g;
                }
            }
    return { shape: kind === 'filter' ? fShape : xShape, vals: out };
  };
}

/** Outputs of the kernel on `backend`, read back as plain arrays. */
async function runOn(backend: 'cpu' | 'wasm', c: Case): Promise<Array<{ shape: number[]; vals: Float32Array | Int32Array }>> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const out = tf.engine().runKernel(c.kernel, materialise(c) as unknown as tf.NamedTensorMap, c.attrs as tf.NamedAttrMap);
    const outs = Array.isArray(out) ? out : [out];
    return outs.map((t) => ({ shape: [...t.shape], vals: t.dataSync() as Float32Array | Int32Array }));
  });
}

function outShapeOfConv(x: number[], f: number[], strides: number, pad: unknown, depthwise = false, dil = 1): number[] {
  const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], strides, dil, pad as 'same', undefined, depthwise);
  return info.outShape;
}

const cases: Case[] = [];
// [label, xShape, filterShape, stride, pad]
const convs: Array<[string, number[], number[], number, number | 'same']> = [
  ['patch-embed 7/4/3, odd non-square', [2, 33, 29, 3], [7, 7, 3, 8], 4, 3],
  ['patch-embed 3/2/1', [2, 17, 15, 8], [3, 3, 8, 16], 2, 1],
  ['spatial reduction k=s=8', [2, 32, 24, 8], [8, 8, 8, 8], 8, 0],
  ['spatial reduction k=s=2 with remainder', [1, 9, 7, 6], [2, 2, 6, 6], 2, 0],
  ['1×1 head conv', [2, 10, 12, 16], [1, 1, 16, 8], 1, 0],
  ['3×3 bottleneck, pad 1', [2, 10, 12, 16], [3, 3, 16, 8], 1, 1],
  ["3×3 stride 2 'same'", [1, 11, 11, 4], [3, 3, 4, 5], 2, 'same'],
];
for (const [label, x, f, s, pad] of convs) {
  const dy = outShapeOfConv(x, f, s, pad);
  const common = { strides: s, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  cases.push({ kernel: 'Conv2DBackpropFilter', label, inputs: { x: { shape: x }, dy: { shape: dy } }, attrs: { ...common, filterShape: f }, atol: 2e-4 });
  cases.push({ kernel: 'Conv2DBackpropInput', label, inputs: { dy: { shape: dy }, filter: { shape: f } }, attrs: { ...common, inputShape: x }, atol: 2e-4 });
}
// [label, xShape, filterShape, stride, pad, dilation]
const dws: Array<[string, number[], number[], number, number, number]> = [
  ['Mix-FFN 3×3 pad 1', [2, 12, 10, 8], [3, 3, 8, 1], 1, 1, 1],
  ['dilation 3, pad 3, odd', [1, 20, 17, 4], [3, 3, 4, 1], 1, 3, 3],
  ['stride 2, pad 1', [1, 15, 13, 4], [3, 3, 4, 1], 2, 1, 1],
  ['channel multiplier 2, dilation 2', [1, 12, 12, 3], [3, 3, 3, 2], 1, 2, 2],
];
for (const [label, x, f, s, pad, d] of dws) {
  const dy = outShapeOfConv(x, f, s, pad, true, d);
  const common = { strides: s, pad, dilations: d, dimRoundingMode: undefined };
  const ref = (kind: 'filter' | 'input') => depthwiseReference(kind, x, f, s, pad, d);
  cases.push({ kernel: 'DepthwiseConv2dNativeBackpropFilter', label, inputs: { x: { shape: x }, dy: { shape: dy } }, attrs: { ...common, filterShape: f }, atol: 1e-4, reference: ref('filter') });
  cases.push({ kernel: 'DepthwiseConv2dNativeBackpropInput', label, inputs: { dy: { shape: dy }, filter: { shape: f } }, attrs: { ...common, inputShape: x }, atol: 1e-4, reference: ref('input') });
}
cases.push(
  { kernel: 'UnsortedSegmentSum', label: 'duplicate ids', inputs: { x: { shape: [6, 3, 2] }, segmentIds: { shape: [6], dtype: 'int32', values: [0, 2, 2, 3, 0, 2] } }, attrs: { numSegments: 5 } },
  { kernel: 'UnsortedSegmentSum', label: 'ids out of range are dropped', inputs: { x: { shape: [5, 4] }, segmentIds: { shape: [5], dtype: 'int32', values: [1, -1, 3, 4, 1] } }, attrs: { numSegments: 4 } },
);
// [label, aShape, bShape, transposeA, transposeB]
const mms: Array<[string, number[], number[], boolean, boolean]> = [
  ['batched', [3, 5, 4], [3, 4, 6], false, false],
  ['batched, transposeA', [3, 4, 5], [3, 4, 6], true, false],
  ['batched, transposeB', [3, 5, 4], [3, 6, 4], false, true],
  ['batched, both transposed', [3, 4, 5], [3, 6, 4], true, true],
  ['2-D transposeA (dense weight grad)', [7, 5], [7, 3], true, false],
  ['2-D transposeB (dense input grad)', [7, 5], [3, 5], false, true],
  ['rank 4 against one matrix', [2, 3, 5, 4], [4, 6], false, false],
  ['one matrix against a batch', [5, 4], [3, 4, 6], false, false],
  ['batch against batch-1', [2, 5, 4], [1, 6, 4], false, true],
];
for (const [label, a, b, ta, tb] of mms) cases.push({ kernel: 'BatchMatMul', label, inputs: { a: { shape: a }, b: { shape: b } }, attrs: { transposeA: ta, transposeB: tb }, atol: 1e-5 });
cases.push(
  { kernel: 'Slice', label: 'NHWC crop', inputs: { x: { shape: [2, 6, 5, 7] } }, attrs: { begin: [0, 1, 2, 0], size: [2, 3, 2, 7] } },
  { kernel: 'Slice', label: 'inner axis cut', inputs: { x: { shape: [4, 5] } }, attrs: { begin: [1, 1], size: [2, 3] } },
  { kernel: 'Slice', label: 'rank 5, size -1', inputs: { x: { shape: [2, 3, 4, 2, 3] } }, attrs: { begin: [1, 0, 1, 0, 1], size: [1, -1, 2, 2, 2] } },
  { kernel: 'Slice', label: 'int32', inputs: { x: { shape: [3, 4], dtype: 'int32', values: [...Array(12).keys()] } }, attrs: { begin: [1, 1], size: [2, 2] } },
  { kernel: 'SplitV', label: 'channels', inputs: { x: { shape: [2, 4, 3, 8] } }, attrs: { numOrSizeSplits: [3, 5], axis: 3 } },
  { kernel: 'SplitV', label: 'rows, -1 size', inputs: { x: { shape: [2, 4, 3, 8] } }, attrs: { numOrSizeSplits: [1, -1], axis: 1 } },
);
cases.push({ kernel: 'Identity', label: 'float32', inputs: { x: { shape: [3, 5] } }, attrs: {} }, { kernel: 'Identity', label: 'int32', inputs: { x: { shape: [4], dtype: 'int32', values: [1, -2, 3, 7] } }, attrs: {} });
for (const kernel of ['Sum', 'Mean']) {
  cases.push(
    { kernel, label: 'BN axes [0,1,2]', inputs: { x: { shape: [2, 4, 3, 8] } }, attrs: { axis: [0, 1, 2], keepDims: false }, atol: 1e-5 },
    { kernel, label: 'keepDims, negative axes', inputs: { x: { shape: [2, 4, 3, 8] } }, attrs: { axis: [-4, -3], keepDims: true }, atol: 1e-5 },
    { kernel, label: 'innermost axis (original kernel)', inputs: { x: { shape: [2, 4, 3, 8] } }, attrs: { axis: [3], keepDims: false }, atol: 1e-5 },
  );
}

test('wasm Identity shares memory safely: the clone outlives its disposed source', async (t) => {
  if (wasmMissing) {
    t.skip(`wasm backend cannot load here: ${wasmMissing}`);
    return;
  }
  await tf.setBackend('wasm');
  await withLeakCheck(() => {
    const x = tf.tensor([1, 2, 3]);
    const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
    x.dispose();
    assert.deepEqual([...y.dataSync()], [1, 2, 3]);
    y.dispose();
  });
});

for (const c of cases) {
  test(`wasm ${c.kernel} equals ${c.reference ? 'a float64 reference' : 'cpu'}: ${c.label}`, async (t) => {
    if (wasmMissing) {
      t.skip(`wasm backend cannot load here: ${wasmMissing}`);
      return;
    }
    await withLeakCheck(async () => {
      const expected = c.reference ? [c.reference(inputArrays(c))] : await runOn('cpu', c);
      const actual = await runOn('wasm', c);
      assert.equal(actual.length, expected.length, 'number of outputs');
      actual.forEach((a, i) => {
        assert.deepEqual(a.shape, expected[i].shape, `output ${i} shape`);
        tf.tidy(() => {
          assertClose(`${c.kernel} ${c.label} [${a.shape}]`, tf.tensor(a.vals, a.shape), tf.tensor(Float32Array.from(expected[i].vals), a.shape), c.atol ?? 1e-6);
        });
      });
    });
  });
}
