// AdamW = torch.optim.AdamW (1.7) with mmcv param groups, checked against references
// written here in plain JS: a float64 one (atol 1e-6) and one that rounds every
// operation to float32 in PyTorch's CPU kernel order (bit-exact on the cpu backend).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, AdamWError } from '../../src/model/optim/adamw.js';
import { paramGroupFor } from '../../src/model/optim/param-groups.js';
import { rngFor, type Rng } from '../../src/common/random.js';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';

let backend = 'cpu';
before(async () => {
  backend = await useTestBackend();
});

// One name per group kind; shapes small but not trivial.
const SPECS: Array<[string, number[]]> = [
  ['backbone.block1.0.attn.q.weight', [4, 3]], // plain: lr×1, wd 0.01
  ['backbone.block1.0.norm1.weight', [5]], // norm: wd 0
  ['decode_head.head.conv_seg.weight', [1, 1, 3, 2]], // head: lr×10
  ['decode_head.head.fuse_layer.bottleneck.bn.bias', [3]], // head (its BN): lr×10, wd kept
  ['project.0.weight', [1, 1, 2, 2]], // gets gradients only from step 3 on
  ['cls_head.0.weight', [2, 2]], // never gets a gradient
];
const WD = 0.01;
const BETAS: [number, number] = [0.9, 0.999];
const EPS = 1e-8;

function randn(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** Reference state of one parameter. */
interface Ref {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
  t: number;
}

/** torch.optim.AdamW.step for one parameter, float64 or float32-rounded (PyTorch CPU order). */
function refStep(r: Ref, g: Float64Array, lr: number, wd: number, f32: boolean): void {
  const R = f32 ? Math.fround : (x: number) => x;
  const [b1, b2] = BETAS;
  r.t += 1;
  const bc1 = 1 - b1 ** r.t;
  const bc2 = 1 - b2 ** r.t;
  const decay = R(1 - lr * wd);
  const stepSize = R(-(lr / bc1));
  const sqrtBc2 = R(Math.sqrt(bc2));
  for (let i = 0; i < r.p.length; i++) {
    const p = R(r.p[i] * decay);
    r.m[i] = R(R(r.m[i] * R(b1)) + R(R(1 - b1) * g[i]));
    r.v[i] = R(R(r.v[i] * R(b2)) + R(R(R(1 - b2) * g[i]) * g[i]));
    const denom = R(R(R(Math.sqrt(r.v[i])) / sqrtBc2) + R(EPS));
    r.p[i] = R(p + R(R(stepSize * r.m[i]) / denom));
  }
}

function run(f32: boolean) {
  const rng = rngFor(7, 'adamw-test');
  const init = SPECS.map(([, shape]) => {
    const x = randn(rng, shape.reduce((a, b) => a * b, 1));
    return f32 ? x.map(Math.fround) : x;
  });
  const steps = 5;
  // per step: base lr and grads (project only from step index 2, cls_head never)
  const lrs = [1e-2, 3e-3, 2e-2, 5e-3, 1e-2];
  const grads = Array.from({ length: steps }, (_, s) =>
    SPECS.map(([name, shape], k) => {
      if (name.startsWith('cls_head') || (name.startsWith('project') && s < 2)) return null;
      return randn(rng, shape.reduce((a, b) => a * b, 1)).map((x) => (f32 ? Math.fround(x * (k + 1)) : x * (k + 1)));
    }),
  );
  return { init, lrs, grads };
}

/** A trainable variable owning a copy of t (t is disposed). */
function mkVar(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

function toF32(x: Float64Array): Float32Array {
  return Float32Array.from(x);
}

test('AdamW matches float64 and float32-order references over 5 steps, several groups, skipped params', async () => {
  await withLeakCheck(() => {
    const { init, lrs, grads } = run(true);
    const vars = SPECS.map(([name, shape], k) => [name, mkVar(tf.tensor(toF32(init[k]), shape))] as [string, tf.Variable]);
    const opt = new AdamW(vars, { weightDecay: WD, betas: BETAS, eps: EPS });
    const ref64: Ref[] = init.map((p) => ({ p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length), t: 0 }));
    const ref32: Ref[] = init.map((p) => ({ p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length), t: 0 }));
    for (let s = 0; s < lrs.length; s++) {
      const gmap = new Map<string, tf.Tensor>();
      SPECS.forEach(([name, shape], k) => {
        const g = grads[s][k];
        if (g) gmap.set(name, tf.tensor(toF32(g), shape));
        if (g) {
          const { lrMult, decayMult } = paramGroupFor(name);
          refStep(ref64[k], g, lrs[s] * lrMult, WD * decayMult, false);
          refStep(ref32[k], g, lrs[s] * lrMult, WD * decayMult, true);
        }
      });
      opt.step(gmap, lrs[s]);
      tf.dispose([...gmap.values()]);
    }
    const tol32 = backend === 'cpu' ? 0 : 1e-6;
    SPECS.forEach(([name], k) => {
      const got = vars[k][1].dataSync();
      let d64 = 0;
      let d32 = 0;
      let moved = 0;
      for (let i = 0; i < got.length; i++) {
        d64 = Math.max(d64, Math.abs(got[i] - ref64[k].p[i]));
        d32 = Math.max(d32, Math.abs(got[i] - ref32[k].p[i]));
        moved = Math.max(moved, Math.abs(got[i] - init[k][i]));
      }
      console.log(`  ${name}: max|Δ| vs f64 ${d64.toExponential(2)}, vs f32-order ${d32.toExponential(2)}, moved ${moved.toExponential(2)}`);
      assert.ok(d64 <= 1e-6, `${name}: max|Δ| vs float64 reference ${d64}`);
      assert.ok(d32 <= tol32, `${name}: max|Δ| vs float32-order reference ${d32} > ${tol32}`);
      if (name.startsWith('cls_head')) assert.equal(moved, 0, 'a parameter without gradient must not move (no decay either)');
      else assert.ok(moved > 1e-3, `${name} should have moved`);
    });
    const st = opt.state();
    assert.equal(st.step, 5);
    assert.equal(st.paramSteps.get('project.0.weight'), 3, 'project started at the third step');
    assert.equal(st.paramSteps.get('backbone.block1.0.attn.q.weight'), 5);
    assert.equal(st.paramSteps.has('cls_head.0.weight'), false);
    opt.dispose();
    vars.forEach(([, v]) => v.dispose());
  });
});

test('lr and weight-decay multipliers apply per group (hand-checkable first step)', async () => {
  await withLeakCheck(() => {
    const names = ['backbone.block1.0.attn.q.weight', 'backbone.block1.0.norm1.weight', 'decode_head.head.conv_seg.weight', 'decode_head.head.bn.bias'];
    const lr = 0.05;
    // Zero gradient: m = v = 0, so only the decoupled decay acts: p·(1 − lr·lrMult·wd·decayMult).
    const vars = names.map((n) => [n, mkVar(tf.fill([3], 2))] as [string, tf.Variable]);
    const opt = new AdamW(vars, { weightDecay: 0.1 });
    const zeros = new Map(vars.map(([n, v]) => [n, tf.zerosLike(v)] as [string, tf.Tensor]));
    opt.step(zeros, lr);
    tf.dispose([...zeros.values()]);
    const expectDecay = [1 - lr * 0.1, 1, 1 - 10 * lr * 0.1, 1 - 10 * lr * 0.1];
    vars.forEach(([n, v], k) => {
      const got = v.dataSync()[0];
      assert.ok(Math.abs(got - 2 * expectDecay[k]) < 1e-6, `${n}: ${got} vs ${2 * expectDecay[k]}`);
    });
    opt.dispose();
    // Constant gradient, no decay: the first step moves by lr·lrMult·g/(|g| + eps) ≈ lr·lrMult.
    tf.tidy(() => vars.forEach(([, v]) => v.assign(tf.zerosLike(v))));
    const opt2 = new AdamW(vars, { weightDecay: 0 });
    const gs = new Map(vars.map(([n, v]) => [n, tf.onesLike(v)] as [string, tf.Tensor]));
    opt2.step(gs, lr);
    vars.forEach(([n, v], k) => {
      const want = -(k >= 2 ? 10 : 1) * lr;
      assert.ok(Math.abs(v.dataSync()[0] - want) < 1e-6, `${n}: moved ${v.dataSync()[0]}, expected ${want}`);
    });
    // A function lr gets each group's multipliers.
    opt2.step(gs, (g) => (g.lrMult === 10 ? 0 : lr));
    assert.ok(Math.abs(vars[2][1].dataSync()[0] + 10 * lr) < 1e-6, 'head group with lr 0 stays');
    tf.dispose([...gs.values()]);
    opt2.dispose();
    vars.forEach(([, v]) => v.dispose());
  });
});

test('a gradient missing after the first: zero gradient by default (PyTorch zero_grad), skipped with "skip"', async () => {
  await withLeakCheck(() => {
    const name = 'backbone.block1.0.attn.q.weight';
    const init = Float64Array.from([0.5, -1.25, 2]);
    const g1 = Float64Array.from([0.3, -0.7, 1.1]);
    const results: Record<string, Float32Array> = {};
    for (const mode of ['zero-after-first', 'skip'] as const) {
      const v = mkVar(tf.tensor(toF32(init)));
      const opt = new AdamW([[name, v]], { weightDecay: WD, missingGradient: mode });
      const g = new Map([[name, tf.tensor(toF32(g1))]]);
      opt.step(g, 1e-2);
      opt.step(new Map(), 1e-2); // no gradient this time
      tf.dispose([...g.values()]);
      results[mode] = Float32Array.from(v.dataSync());
      assert.equal(opt.state().paramSteps.get(name), mode === 'skip' ? 1 : 2);
      opt.dispose();
      v.dispose();
    }
    const ref: Ref = { p: Float64Array.from(init.map(Math.fround)), m: new Float64Array(3), v: new Float64Array(3), t: 0 };
    refStep(ref, g1.map(Math.fround), 1e-2, WD, true);
    const afterOne = Float64Array.from(ref.p);
    refStep(ref, new Float64Array(3), 1e-2, WD, true);
    const tol = backend === 'cpu' ? 0 : 1e-6;
    const maxDiff = (a: Float32Array, b: Float64Array) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
    assert.ok(maxDiff(results['zero-after-first'], ref.p) <= tol, 'second step with g = 0');
    assert.ok(maxDiff(results.skip, afterOne) <= tol, 'second step skipped');
    assert.notDeepEqual(Array.from(ref.p), Array.from(afterOne));
  });
});

test('state() / loadState() round trip continues identically; bad input is rejected', async () => {
  await withLeakCheck(() => {
    const rng = rngFor(3, 'adamw-state');
    const shapes: Array<[string, number[]]> = [
      ['a.weight', [3, 2]],
      ['b_head.weight', [4]],
      ['never.weight', [2]],
    ];
    const mk = () => shapes.map(([n, s]) => [n, mkVar(tf.tensor(Float32Array.from(randn(rngFor(1, n), s.reduce((x, y) => x * y, 1))), s))] as [string, tf.Variable]);
    const va = mk();
    const vb = mk();
    const oa = new AdamW(va);
    const gradsAt = () => shapes.slice(0, 2).map(([n, s]) => [n, Float32Array.from(randn(rng, s.reduce((x, y) => x * y, 1)))] as [string, Float32Array]);
    const apply = (opt: AdamW, g: Array<[string, Float32Array]>, lr: number) => {
      const m = new Map(g.map(([n, d]) => [n, tf.tensor(d, shapes.find((x) => x[0] === n)![1])] as [string, tf.Tensor]));
      opt.step(m, lr);
      tf.dispose([...m.values()]);
    };
    apply(oa, gradsAt(), 1e-2);
    apply(oa, gradsAt(), 1e-2);
    // worker b joins: gets the params and the optimiser state
    vb.forEach(([n, v]) => v.assign(va.find((x) => x[0] === n)![1]));
    const ob = new AdamW(vb);
    const saved = oa.state();
    ob.loadState(saved);
    const g3 = gradsAt();
    apply(oa, g3, 5e-3);
    apply(ob, g3, 5e-3);
    va.forEach(([n, v], k) => assert.deepEqual(Array.from(v.dataSync()), Array.from(vb[k][1].dataSync()), n));
    assert.equal(ob.state().step, 3);
    // the snapshot is a copy, not a view of live memory
    assert.notDeepEqual(Array.from(saved.m.get('a.weight')!), Array.from(oa.state().m.get('a.weight')!));
    assert.throws(() => ob.loadState({ step: 1, paramSteps: new Map([['zzz', 1]]), m: new Map(), v: new Map() }), AdamWError);
    assert.throws(
      () => ob.loadState({ step: 1, paramSteps: new Map([['a.weight', 1]]), m: new Map([['a.weight', new Float32Array(5)]]), v: new Map([['a.weight', new Float32Array(6)]]) }),
      AdamWError,
    );
    const wrong = new Map([['a.weight', tf.zeros([2, 3])]]);
    assert.throws(() => ob.step(wrong, 1e-3), AdamWError);
    const unknown = new Map([['nope', tf.zeros([1])]]);
    assert.throws(() => ob.step(unknown, 1e-3), AdamWError);
    tf.dispose([...wrong.values(), ...unknown.values()]);
    oa.dispose();
    ob.dispose();
    [...va, ...vb].forEach(([, v]) => v.dispose());
  });
});
