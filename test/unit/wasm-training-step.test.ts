// Training runs on the wasm backend: a small MiT + DAFormer head (sep-ASPP with atrous
// branches, BatchNorm in batch mode) gives the same loss and the same gradient for EVERY
// parameter on wasm (with registerWasmTrainingKernels, via selectBackend) as on cpu. Also
// checks the fused BatchNorm backward against autograd of the plain formula on both.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { DaformerHead } from '../../src/model/heads/daformer-head.js';
import { BN_EPS, batchNorm, declareBatchNorm } from '../../src/model/layers/norm.js';
import type { MitConfig } from '../../src/model/mit/mit-config.js';
import { MixVisionTransformer } from '../../src/model/mit/mix-vision-transformer.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

let wasmMissing: string | null = null;
before(async () => {
  try {
    await selectBackend('wasm');
  } catch (e) {
    wasmMissing = (e as Error).message;
  }
});

const MIT: MitConfig = { embedDims: [8, 16, 24, 32], depths: [1, 1, 1, 1], numHeads: [1, 2, 3, 4], srRatios: [8, 4, 2, 1], mlpRatios: [4, 4, 4, 4], qkvBias: true, dropPathRate: 0 };

interface Result {
  loss: number;
  grads: Map<string, { shape: number[]; vals: Float32Array }>;
}

/** Loss Σ logits·r and every parameter gradient, on `backend`, from identical initial values. */
async function lossAndGrads(backend: 'cpu' | 'wasm'): Promise<Result> {
  await tf.setBackend(backend);
  const reg = new ParamRegistry();
  const mit = new MixVisionTransformer(reg.scope('backbone'), MIT);
  const head = new DaformerHead(reg.scope('decode_head'), { inChannels: mit.stageChannels, embedDims: 16, channels: 12, numClasses: 5, dropoutRatio: 0, fusion: { kind: 'sepAspp', dilations: [1, 2, 3] } });
  const store = new ParamStore(reg.specs, 3);
  try {
    const vars = store.trainable();
    tf.engine().startScope(); // a tidy that may return plain arrays
    try {
      // 70×66 input: level-1 grid 18×17 (odd, non-square), ≥ 2 key/value tokens everywhere.
      const x = tf.randomNormal([2, 70, 66, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() => {
        const mode = { bn: 'batch' as const, stochastic: false };
        const logits = head.forward(store, mit.forward(store, x, mode), mode);
        const r = tf.randomNormal(logits.shape, 0, 1, 'float32', 12);
        return tf.sum(tf.mul(logits, r)) as tf.Scalar;
      }, vars.map(([, v]) => v));
      const out = new Map(vars.map(([name, v]) => [name, { shape: [...grads[v.name].shape], vals: grads[v.name].dataSync() as Float32Array }]));
      return { loss: value.dataSync()[0], grads: out };
    } finally {
      tf.engine().endScope();
    }
  } finally {
    store.dispose();
  }
}

test('wasm training step: loss and every parameter gradient equal the cpu backend', async (t) => {
  if (wasmMissing) {
    t.skip(`wasm backend cannot load here: ${wasmMissing}`);
    return;
  }
  await withLeakCheck(async () => {
    const cpu = await lossAndGrads('cpu');
    const wasm = await lossAndGrads('wasm');
    assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-3 * Math.max(1, Math.abs(cpu.loss)), `loss ${wasm.loss} vs ${cpu.loss}`);
    assert.equal(wasm.grads.size, cpu.grads.size);
    for (const [name, g] of cpu.grads) {
      const w = wasm.grads.get(name)!;
      const scale = g.vals.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(scale > 0, `zero gradient for ${name}`);
      // Sums are reordered (XNNPACK, column sums): tolerance relative to the gradient's size.
      tf.tidy(() => {
        assertClose(name, tf.tensor(w.vals, w.shape), tf.tensor(g.vals, g.shape), 2e-4 * scale);
      });
    }
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`fused BatchNorm backward equals autograd of the plain formula (${backend})`, async (t) => {
    if (backend === 'wasm' && wasmMissing) {
      t.skip(`wasm backend cannot load here: ${wasmMissing}`);
      return;
    }
    await tf.setBackend(backend);
    const reg = new ParamRegistry();
    const prefix = declareBatchNorm(reg.scope('bn'), 6);
    const store = new ParamStore(reg.specs, 0);
    try {
      await withLeakCheck(() =>
        tf.tidy(() => {
          store.assign('bn.weight', tf.randomNormal([6], 1, 0.5, 'float32', 1));
          store.assign('bn.bias', tf.randomNormal([6], 0, 0.5, 'float32', 2));
          const x = tf.randomNormal([2, 5, 3, 6], 0.3, 2, 'float32', 3);
          const r = tf.randomNormal([2, 5, 3, 6], 0, 1, 'float32', 4);
          const [g, b] = [store.get('bn.weight'), store.get('bn.bias')];
          const plain = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
            const { mean, variance } = tf.moments(xi, [0, 1, 2]);
            return tf.add(tf.mul(tf.div(tf.sub(xi, mean), tf.sqrt(tf.add(variance, BN_EPS))), gi), bi);
          };
          const viaStore = (xi: tf.Tensor) => batchNorm(xi as tf.Tensor4D, store, prefix, { bn: 'batch', stochastic: false });
          assertClose(`${backend} forward`, viaStore(x), plain(x, g, b), 1e-5);
          const ref = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(plain(xi, gi, bi), r)))([x, g, b]);
          const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(viaStore(xi), r)))(x);
          const { grads } = tf.variableGrads(() => tf.sum(tf.mul(viaStore(x), r)) as tf.Scalar, [g as tf.Variable, b as tf.Variable]);
          assertClose(`${backend} dx`, dx, ref[0], 1e-4);
          assertClose(`${backend} dγ`, grads[g.name], ref[1], 1e-4);
          assertClose(`${backend} dβ`, grads[b.name], ref[2], 1e-4);
        }),
      );
    } finally {
      store.dispose();
    }
  });
}
