// MiT forward behaviour that the square public fixtures cannot show: odd and non-square
// inputs (shapes and an H↔W symmetry check), batch independence, DropPath in training
// mode, and gradients reaching every parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { rngFor } from '../../src/common/random.js';
import { convOutSize } from '../../src/model/layers/conv.js';
import { EVAL_MODE, type ForwardMode } from '../../src/model/layers/forward-mode.js';
import type { MitConfig } from '../../src/model/mit/mit-config.js';
import { MitInputTooSmallError } from '../../src/model/mit/efficient-attention.js';
import { MixVisionTransformer } from '../../src/model/mit/mix-vision-transformer.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, diff, withLeakCheck } from '../helpers/golden.js';

// Small but complete: several heads (incl. a non-power-of-two head dim), every sr ratio,
// two blocks in one stage, fractional-free mlp ratios that differ by stage.
const CFG: MitConfig = {
  embedDims: [8, 16, 24, 32],
  depths: [1, 2, 1, 1],
  numHeads: [1, 2, 3, 4],
  srRatios: [8, 4, 2, 1],
  mlpRatios: [4, 4, 2, 4],
  qkvBias: true,
  dropPathRate: 0.1,
};

function build(cfg = CFG, seed = 7): { model: MixVisionTransformer; store: ParamStore } {
  const reg = new ParamRegistry();
  const model = new MixVisionTransformer(reg.scope('backbone'), cfg);
  return { model, store: new ParamStore(reg.specs, seed) };
}

function image(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

test('odd, non-square inputs give floor-rule stage sizes at strides 4/8/16/32', async () => {
  await useTestBackend();
  await withLeakCheck(() => {
    const { model, store } = build();
    try {
      for (const [h, w] of [
        [37, 52],
        [45, 45],
        [33, 65],
      ]) {
        tf.tidy(() => {
          const outs = model.forward(store, image([1, h, w, 3], 1), EVAL_MODE);
          let [eh, ew] = [convOutSize(h, 7, 4, 3), convOutSize(w, 7, 4, 3)];
          outs.forEach((o, i) => {
            if (i > 0) [eh, ew] = [convOutSize(eh, 3, 2, 1), convOutSize(ew, 3, 2, 1)];
            assert.deepEqual(o.shape, [1, eh, ew, CFG.embedDims[i]], `input ${h}×${w}, stage ${i + 1}`);
          });
        });
      }
    } finally {
      store.dispose();
    }
  });
});

test('an input too small for the spatial reduction is rejected before any kernel runs', async () => {
  await useTestBackend();
  await withLeakCheck(() => {
    const { model, store } = build();
    try {
      // 33×19 → stage-1 grid 9×5, narrower than sr = 8: PyTorch's conv refuses this too.
      tf.tidy(() => {
        assert.throws(
          () => model.forward(store, image([1, 33, 19, 3], 1), EVAL_MODE),
          (e: Error) => e instanceof MitInputTooSmallError && /backbone\.block1\.0\.attn: token grid 9×5 .* 8×8/.test(e.message),
        );
      });
    } finally {
      store.dispose();
    }
  });
});

test('H↔W symmetry: transposed image with transposed conv kernels gives the transposed stages', async () => {
  // Attention is permutation-equivariant over tokens, so swapping the image axes and every
  // conv kernel's (kh, kw) must swap the output axes. Mixing up H and W in any token↔grid
  // reshape breaks this on a non-square input.
  await useTestBackend();
  await withLeakCheck(() => {
    const { model, store } = build();
    const swapped = new ParamStore(store.specs, 0);
    try {
      for (const spec of store.specs) {
        const v = store.get(spec.name);
        tf.tidy(() => swapped.assign(spec.name, spec.layout === 'conv' || spec.layout === 'depthwise' ? tf.transpose(v, [1, 0, 2, 3]) : v));
      }
      tf.tidy(() => {
        const x = image([2, 69, 83, 3], 2);
        const a = model.forward(store, x, EVAL_MODE);
        const b = model.forward(swapped, tf.transpose(x, [0, 2, 1, 3]), EVAL_MODE);
        a.forEach((o, i) => assertClose(`stage${i + 1} [${o.shape}]`, tf.transpose(b[i], [0, 2, 1, 3]), o, 1e-4));
      });
    } finally {
      store.dispose();
      swapped.dispose();
    }
  });
});

test('samples do not interact: batch of 2 equals two batches of 1', async () => {
  await useTestBackend();
  await withLeakCheck(() => {
    const { model, store } = build();
    try {
      tf.tidy(() => {
        const x = image([2, 70, 66, 3], 3);
        const both = model.forward(store, x, EVAL_MODE);
        for (let n = 0; n < 2; n++) {
          const one = model.forward(store, tf.slice(x, [n, 0, 0, 0], [1, -1, -1, -1]), EVAL_MODE);
          one.forEach((o, i) => assertClose(`sample ${n} stage${i + 1}`, tf.slice(both[i], [n, 0, 0, 0], [1, -1, -1, -1]), o, 1e-5));
        }
      });
    } finally {
      store.dispose();
    }
  });
});

test('DropPath is active in stochastic mode, seeded and reproducible, and off in eval', async () => {
  await useTestBackend();
  await withLeakCheck(() => {
    const { model, store } = build();
    const train = (seed: number): ForwardMode => ({ bn: 'batch', stochastic: true, rng: rngFor(seed, 'test', 'mit-droppath') });
    try {
      tf.tidy(() => {
        const x = image([2, 64, 64, 3], 4);
        const evalOut = model.forward(store, x, EVAL_MODE);
        const evalAgain = model.forward(store, x, EVAL_MODE);
        const a = model.forward(store, x, train(1));
        const a2 = model.forward(store, x, train(1));
        const b = model.forward(store, x, train(2));
        // Stage 1's first block has p = 0, so stage 1 may equal eval; the last stage cannot
        // (kept samples are rescaled by 1/(1−p), dropped ones lose the branch).
        const last = evalOut.length - 1;
        assert.equal(diff(evalAgain[last], evalOut[last]).maxAbs, 0, 'eval is deterministic');
        assert.ok(diff(a[last], evalOut[last]).maxAbs > 1e-3, 'stochastic output differs from eval');
        a.forEach((t, i) => assert.equal(diff(a2[i], t).maxAbs, 0, `same seed, same stage${i + 1}`));
        assert.ok(diff(b[last], a[last]).maxAbs > 1e-3, 'another seed draws other masks');
      });
    } finally {
      store.dispose();
    }
  });
});

/** d(Σ_i ⟨stage_i, r_i⟩)/dθ for every trainable θ, with fixed random readouts r_i. */
function variableGradsOf(model: MixVisionTransformer, store: ParamStore, x: tf.Tensor4D, vars: Array<[string, tf.Variable]>) {
  return tf.variableGrads(() => {
    // Eval mode: in training mode DropPath may legitimately drop a whole branch for
    // every sample of the batch, and then that branch's parameters get no gradient.
    const outs = model.forward(store, x, EVAL_MODE);
    // Random readouts: a plain sum of a LayerNorm output has no gradient w.r.t. its input.
    const terms = outs.map((o, i) => tf.sum(tf.mul(o, tf.randomNormal(o.shape, 0, 1, 'float32', 100 + i))));
    return tf.addN(terms) as tf.Scalar;
  }, vars.map(([, v]) => v));
}

test('gradients reach every backbone parameter, finite and non-zero', async (t) => {
  const backend = await useTestBackend();
  try {
    await withLeakCheck(() => {
      const { model, store } = build();
      // 69×75 keeps ≥ 2 key/value tokens in every stage (one key would make q's gradient 0).
      const x = image([2, 69, 75, 3], 5);
      try {
        const vars = store.trainable();
        const { value, grads } = variableGradsOf(model, store, x, vars);
        try {
          assert.ok(Number.isFinite(value.dataSync()[0]));
          for (const [name, v] of vars) {
            const g = grads[v.name];
            assert.ok(g, `no gradient for ${name}`);
            const data = g.dataSync();
            assert.ok(data.every(Number.isFinite), `non-finite gradient for ${name}`);
            assert.ok(data.some((d) => d !== 0), `zero gradient for ${name}`);
          }
        } finally {
          value.dispose();
          tf.dispose(grads);
        }
      } finally {
        x.dispose();
        store.dispose();
      }
    });
  } catch (e) {
    // tfjs-backend-wasm 4.22 lacks some conv/depthwise gradient kernels; that belongs to
    // the layer primitives (custom gradients), so it is reported as a todo, not hidden.
    if (backend === 'wasm' && /not registered for backend 'wasm'/.test((e as Error).message)) {
      t.todo(`wasm: ${(e as Error).message}`);
      return;
    }
    throw e;
  }
});
