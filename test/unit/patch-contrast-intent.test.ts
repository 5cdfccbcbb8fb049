// Paper-intent patch contrast: (1) the overlap is aligned cell by cell through crops and
// flips, (2) the value equals an independent float64 evaluation of the formula, and
// (3) — the property the upstream code lacks — gradients reach a trainable encoder.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor, type Rng } from '../../src/common/random.js';
import { conv2d } from '../../src/model/layers/conv.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { cropPatchPair, featureOverlap, patchPairGeometry, type PatchPair } from '../../src/model/losses/patch-pairs.js';
import { patchContrastIntent, patchContrastIntentViews } from '../../src/model/losses/patch-contrast-intent.js';

before(async () => {
  await useTestBackend();
});

const TAU = 0.1;

/** A unit vector per image cell: the "true" feature of that place in the image. */
function cellField(rng: Rng, Hc: number, Wc: number, D: number): Float64Array[][] {
  return Array.from({ length: Hc }, () =>
    Array.from({ length: Wc }, () => {
      const v = Float64Array.from({ length: D }, () => rng.normal());
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    }),
  );
}

/** The field seen through one crop as fed to a network: [h][w] cells, mirrored if flipped. */
function view(field: Float64Array[][], y: number, x: number, h: number, w: number, flip: boolean): Float64Array[] {
  const out: Float64Array[] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) out.push(field[y + r][x + (flip ? w - 1 - c : c)]);
  return out;
}

/** A pair drawn on the cell grid (stride 1) seen at pixel scale s: corners land on cells. */
function scalePair(p: PatchPair, s: number): PatchPair {
  const box = (b: PatchPair['crop1']) => ({ y: b.y * s, x: b.x * s, h: b.h * s, w: b.w * s });
  return { ...p, crop1: box(p.crop1), crop2: box(p.crop2), overlap1: box(p.overlap1), overlap2: box(p.overlap2), stride: s };
}

const toTensor = (cells: Float64Array[][], h: number, w: number, D: number) =>
  tf.tensor4d(Float32Array.from(cells.flatMap((v) => v.flatMap((c) => Array.from(c)))), [cells.length, h, w, D]);

function setup(seed: number) {
  const rng = rngFor(seed, 'intent');
  const s = 4;
  const [Hc, Wc, D, h, w, B] = [15, 21, 8, 6, 8, 2];
  const field = cellField(rng, Hc, Wc, D);
  const pairs: PatchPair[] = [];
  const v1: Float64Array[][] = [];
  const v2: Float64Array[][] = [];
  for (let b = 0; b < B; b++) {
    const p = scalePair(patchPairGeometry(rng, Hc, Wc, [h, w], 1, [0.1, 0.9]), s);
    pairs.push(p);
    v1.push(view(field, p.crop1.y / s, p.crop1.x / s, h, w, p.flip1));
    v2.push(view(field, p.crop2.y / s, p.crop2.x / s, h, w, p.flip2));
  }
  const labels = () => Int32Array.from({ length: B * h * w }, () => rng.randint(0, 3));
  const confs = () => Float32Array.from({ length: B * h * w }, () => rng.uniform(0.5, 1));
  return { s, D, h, w, B, pairs, v1, v2, lab1: labels(), lab2: labels(), conf1: confs(), conf2: confs() };
}

/** Float64 evaluation of L1 + L2 straight from the definition (window = all negatives). */
function reference(c: ReturnType<typeof setup>): number {
  const { h, w, B } = c;
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);
  const negF = [...c.v1.flat(), ...c.v2.flat()];
  const negL = [...c.lab1, ...c.lab2];
  const rowsOf = (view: 1 | 2) => {
    const rows: number[] = [];
    c.pairs.forEach((p, b) => {
      const o = featureOverlap(p, h, w);
      const [y0, x0, flip] = view === 1 ? [o.y1, o.x1, p.flip1] : [o.y2, o.x2, p.flip2];
      for (let y = y0; y < y0 + o.h; y++) for (let x = x0; x < x0 + o.w; x++) rows.push((b * h + y) * w + (flip ? w - 1 - x : x));
    });
    return rows;
  };
  const [r1, r2] = [rowsOf(1), rowsOf(2)];
  const flat1 = c.v1.flat();
  const flat2 = c.v2.flat();
  const viewLoss = (fa: Float64Array[], fb: Float64Array[], ra: number[], rb: number[], lab: Int32Array, confA: Float32Array, confB: Float32Array) => {
    let num = 0;
    let cnt = 0;
    ra.forEach((ia, k) => {
      const ib = rb[k];
      const d = confB[ib] > Math.fround(0.9) && confA[ia] < confB[ib];
      if (!d) return;
      const pos = dot(fa[ia], fb[ib]) / TAU;
      const sims = negF.map((f) => dot(fa[ia], f) / TAU);
      const m = Math.max(pos, ...sims);
      let den = Math.exp(pos - m);
      sims.forEach((sv, j) => {
        if (negL[j] !== lab[ia]) den += Math.exp(sv - m);
      });
      num += -Math.log(Math.exp(pos - m) / (den + 1e-8) + 1e-8);
      cnt++;
    });
    return num / (cnt + 1e-12);
  };
  assert.ok(B > 0);
  return viewLoss(flat1, flat2, r1, r2, c.lab1, c.conf1, c.conf2) + viewLoss(flat2, flat1, r2, r1, c.lab2, c.conf2, c.conf1);
}

test('patchContrastIntent: overlap cells are aligned through crops and flips (pos = 1/τ)', async () => {
  await withLeakCheck(() => {
    for (let seed = 0; seed < 5; seed++) {
      const c = setup(seed);
      const f1 = toTensor(c.v1, c.h, c.w, c.D);
      const f2 = toTensor(c.v2, c.h, c.w, c.D);
      const { view1, view2 } = patchContrastIntentViews({
        f1,
        f2,
        teacherLabel1: c.lab1,
        teacherLabel2: c.lab2,
        teacherConf1: c.conf1,
        teacherConf2: c.conf2,
        pairs: c.pairs,
        temperature: TAU,
      });
      const expectedCells = c.pairs.reduce((s, p) => {
        const o = featureOverlap(p, c.h, c.w);
        return s + o.h * o.w;
      }, 0);
      for (const v of [view1, view2]) {
        const pos = v.pos.dataSync();
        assert.equal(pos.length, expectedCells);
        for (const x of pos) assert.ok(Math.abs(x - 1 / TAU) < 1e-4, `positive pairs are the same image cell (got ${x})`);
      }
      tf.dispose([f1, f2, ...[view1, view2].flatMap((v) => [v.loss, v.pos, v.shift, v.denominator])]);
    }
  });
});

test('patchContrastIntent: value equals a float64 evaluation of the definition', async () => {
  await withLeakCheck(() => {
    for (let seed = 10; seed < 13; seed++) {
      const c = setup(seed);
      const f1 = toTensor(c.v1, c.h, c.w, c.D);
      const f2 = toTensor(c.v2, c.h, c.w, c.D);
      const loss = patchContrastIntent({
        f1,
        f2,
        teacherLabel1: c.lab1,
        teacherLabel2: c.lab2,
        teacherConf1: c.conf1,
        teacherConf2: c.conf2,
        pairs: c.pairs,
        temperature: TAU,
      });
      const got = loss.dataSync()[0];
      const want = reference(c);
      console.log(`  seed ${seed}: loss ${got} vs float64 ${want}`);
      assert.ok(want > 0 && Math.abs(got - want) <= 1e-5 * Math.abs(want) + 1e-6, `|Δ| = ${Math.abs(got - want)}`);
      tf.dispose([f1, f2, loss]);
    }
  });
});

/** A small trainable conv encoder (stride 4) standing in for the student + projection. */
function encoder(): { store: ParamStore; encode: (x: tf.Tensor4D) => tf.Tensor4D } {
  const reg = new ParamRegistry();
  const sc = reg.scope('enc');
  sc.param('0.weight', [8, 3, 3, 3], 'conv', { kind: 'uniform', bound: 0.3 });
  sc.param('0.bias', [8], 'vector', { kind: 'uniform', bound: 0.1 });
  sc.param('1.weight', [8, 8, 3, 3], 'conv', { kind: 'uniform', bound: 0.2 });
  sc.param('1.bias', [8], 'vector', { kind: 'uniform', bound: 0.1 });
  sc.param('2.weight', [16, 8, 1, 1], 'conv', { kind: 'uniform', bound: 0.35 });
  sc.param('2.bias', [16], 'vector', { kind: 'uniform', bound: 0.1 });
  const store = new ParamStore(reg.specs, 7);
  const p = (n: string) => store.get(`enc.${n}`);
  const encode = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const a = tf.relu(conv2d(x, p('0.weight'), p('0.bias'), { stride: 2, padding: 1 }));
      const b = tf.relu(conv2d(a, p('1.weight'), p('1.bias'), { stride: 2, padding: 1 }));
      return conv2d(b, p('2.weight'), p('2.bias'));
    });
  return { store, encode };
}

test('patchContrastIntent: tf.variableGrads reaches every weight of the encoder (finite, non-zero)', async () => {
  const { store, encode } = encoder();
  await withLeakCheck(() => {
    const rng = rngFor(3, 'encoder-test');
    const [H, W, B, stride] = [61, 83, 2, 4];
    const crop: [number, number] = [32, 40];
    const image = tf.tidy(() => tf.randomNormal([1, H, W, 3], 0, 1, 'float32', rng.seed31()) as tf.Tensor4D);
    const pairs = Array.from({ length: B }, () => patchPairGeometry(rng, H, W, crop, stride, [0.1, 1]));
    const crops = pairs.map((p) => cropPatchPair(image, p));
    const x1 = tf.concat(crops.map((c) => c[0])) as tf.Tensor4D;
    const x2 = tf.concat(crops.map((c) => c[1])) as tf.Tensor4D;
    const [h, w] = [crop[0] / stride, crop[1] / stride];
    const n = B * h * w;
    const labels = () => Int32Array.from({ length: n }, () => rng.randint(0, 4));
    const confs = () => Float32Array.from({ length: n }, () => rng.uniform(0.6, 1));
    const teacher = { teacherLabel1: labels(), teacherLabel2: labels(), teacherConf1: confs(), teacherConf2: confs() };
    const vars = store.trainable().map(([, v]) => v);
    const { value, grads } = tf.variableGrads(() => patchContrastIntent({ f1: encode(x1), f2: encode(x2), pairs, ...teacher }), vars);
    const loss = value.dataSync()[0];
    assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    for (const [name, v] of store.trainable()) {
      const g = grads[v.name];
      assert.ok(g, `${name} receives a gradient`);
      const d = g.dataSync();
      assert.ok(d.every(Number.isFinite), `${name}: finite`);
      const norm = Math.hypot(...d);
      assert.ok(norm > 0, `${name}: non-zero`);
      console.log(`  ${name}: |grad| = ${norm.toExponential(3)}`);
    }
    tf.dispose([image, x1, x2, value, ...crops.flat(), ...Object.values(grads)]);
  });
  store.dispose();
});
