// Segmentor behaviour that the fixtures do not pin down, on a tiny random model with
// non-square inputs and crops: gradients of the training forward, BN call order in batch
// mode, the slide paths' bookkeeping, dropout determinism, and the SPEC §3.4 init.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';
import { rngFor } from '../../src/common/random.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { EVAL_MODE, type BnUpdate, type ForwardMode } from '../../src/model/layers/forward-mode.js';
import { resizeBilinear } from '../../src/model/layers/resize.js';
import { Segmentor } from '../../src/model/segmentor.js';
import { SegmentorConfigError, type SegmentorConfig } from '../../src/model/segmentor-config.js';

before(async () => {
  await useTestBackend();
});

const CFG: SegmentorConfig = {
  backbone: { embedDims: [8, 16, 24, 32], depths: [1, 1, 1, 1], numHeads: [1, 2, 2, 4], srRatios: [8, 4, 2, 1], mlpRatios: [2, 2, 2, 2], qkvBias: true, dropPathRate: 0.1 },
  numClasses: 5,
  headChannels: 16,
  attentionEmbedDim: 8,
  dropoutRatio: 0.1,
  asppDilations: [1, 6, 12, 18],
  attentionClasswise: true,
  scales: [1, 0.5],
  hrCropSize: [32, 48],
  cropCoordDivisible: 8,
  testCrop: [64, 64],
  testStride: [32, 32],
  pipaHeads: true,
  projDim: 12,
};

function build(cfg = CFG, trainable = false) {
  const registry = new ParamRegistry();
  const segmentor = new Segmentor(registry, cfg);
  return { segmentor, store: new ParamStore(registry.specs, 3, trainable) };
}

const disposeUpdates = (u: BnUpdate[]) => u.forEach((b) => tf.dispose([b.mean, b.varUnbiased]));

test('forwardTrain: finite, non-zero gradients for every decode-head and PiPa-head parameter', async () => {
  await withLeakCheck(() => {
    const { segmentor, store } = build(CFG, true);
    const bnUpdates: BnUpdate[] = [];
    try {
      const rng = rngFor(5, 'test', 'grad');
      const box = segmentor.randomCropBox(rng, 64, 96);
      const mode: ForwardMode = { bn: 'batch', stochastic: true, rng, bnUpdates };
      const x = tf.randomNormal([2, 64, 96, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() =>
        tf.tidy(() => {
          const out = segmentor.forwardTrain(store, x, box, mode);
          const heads = segmentor.pipaHeads(store, out.hrFeats, mode);
          const w = (t: tf.Tensor, s: number) => tf.sum(tf.mul(t, tf.randomNormal(t.shape, 0, 1, 'float32', s)));
          return tf.addN([w(out.fused, 1), w(out.hrSeg, 2), w(heads.clsSeg, 3), w(heads.embed, 4), tf.mul(w(out.lrFeats[3], 5), 0.01)]) as tf.Scalar;
        }),
      );
      assert.ok(Number.isFinite(value.dataSync()[0]));
      // variableGrads keys gradients by tf.Variable name, which the store suffixes with '#id'.
      const gradOf = (n: string) => grads[store.get(n).name];
      const all = store.trainable().map(([n]) => n);
      const wanted = all.filter((n) => !n.startsWith('backbone.'));
      for (const n of wanted) {
        const g = gradOf(n);
        assert.ok(g, `no gradient for ${n}`);
        const a = g.dataSync();
        assert.ok(a.every(Number.isFinite), `non-finite gradient for ${n}`);
        assert.ok(a.some((v) => v !== 0), `all-zero gradient for ${n}`);
      }
      const backbone = all.filter((n) => n.startsWith('backbone.'));
      assert.ok(backbone.length > 0 && backbone.every((n) => gradOf(n)?.dataSync().every(Number.isFinite)), 'backbone gradients missing or non-finite');
      console.log(`  box [${box}]: ${wanted.length} head params + ${backbone.length} backbone params with finite gradients`);
      tf.dispose([value, x, ...Object.values(grads)]);
    } finally {
      disposeUpdates(bnUpdates);
      store.dispose();
    }
  });
});

test('batch-mode BN: head(lr), head(hr), scale_attention(lr) in that order; one BN call per layer for all HR windows', async () => {
  await withLeakCheck(() => {
    const { segmentor, store } = build();
    const train: BnUpdate[] = [];
    const infer: BnUpdate[] = [];
    try {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 64, 96, 3], 0, 1, 'float32', 10) as tf.Tensor4D;
        segmentor.forwardTrain(store, x, [8, 40, 16, 64], { bn: 'batch', stochastic: false, bnUpdates: train });
        // 64×96 with 32×48 windows, stride 16×24 → 3×3 = 9 windows, still one head call.
        segmentor.encodeDecode(store, x, { bn: 'batch', stochastic: false, bnUpdates: infer });
      });
      const headBns = 1 + 2 * (CFG.asppDilations.length - 1) + 1;
      for (const u of [train, infer]) {
        assert.equal(u.length, 2 * headBns + 1);
        assert.ok(u.slice(0, 2 * headBns).every((b) => b.prefix.startsWith('decode_head.head.fuse_layer.')));
        assert.deepEqual(u.slice(0, headBns).map((b) => b.prefix), u.slice(headBns, 2 * headBns).map((b) => b.prefix));
        assert.equal(u[2 * headBns].prefix, 'decode_head.scale_attention.fuse_layer.bn');
      }
    } finally {
      disposeUpdates(train);
      disposeUpdates(infer);
      store.dispose();
    }
  });
});

test('encodeDecode with a single HR window equals the unwindowed HRDA forward', async () => {
  await withLeakCheck(() => {
    const { segmentor, store } = build({ ...CFG, hrCropSize: [64, 96] });
    try {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 64, 96, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
        const got = segmentor.encodeDecode(store, x, EVAL_MODE);
        assert.deepEqual(got.shape, [2, 64, 96, CFG.numClasses]);
        const lr = segmentor.extractFeatures(store, resizeBilinear(x, [32, 48], { scaleFactor: 0.5 }), EVAL_MODE);
        segmentor.contextFeatures(store, x, EVAL_MODE).forEach((f, i) => assertClose(`contextFeatures level ${i + 1}`, f, lr[i], 0));
        const hr = segmentor.extractFeatures(store, x, EVAL_MODE);
        const { fused } = segmentor.decodeHead.forward(store, lr, { feats: hr }, null, EVAL_MODE);
        assertClose('single-window encode_decode', got, resizeBilinear(fused, [64, 96]), 1e-5);
      });
    } finally {
      store.dispose();
    }
  });
});

test('slideInference: probabilities at the original shape; stochastic mode is seeded', async () => {
  await withLeakCheck(() => {
    const { segmentor, store } = build();
    try {
      tf.tidy(() => {
        const x = tf.randomNormal([1, 64, 128, 3], 0, 1, 'float32', 12) as tf.Tensor4D;
        const p = segmentor.slideInference(store, x, [48, 100], EVAL_MODE);
        assert.deepEqual(p.shape, [1, 48, 100, CFG.numClasses]);
        assertClose('Σ probabilities', tf.sum(p, 3), tf.onesLike(tf.sum(p, 3)), 1e-5);
        const box: [number, number, number, number] = [0, 32, 48, 96];
        const run = (seed: number) => segmentor.forwardTrain(store, x, box, { bn: 'running', stochastic: true, rng: rngFor(seed, 'drop') }).fused;
        const evalOut = segmentor.forwardTrain(store, x, box, EVAL_MODE).fused;
        assert.equal(tf.max(tf.abs(tf.sub(run(1), run(1)))).dataSync()[0], 0);
        assert.ok(tf.max(tf.abs(tf.sub(run(1), evalOut))).dataSync()[0] > 0);
      });
    } finally {
      store.dispose();
    }
  });
});

test('invalid configs are rejected with SegmentorConfigError', () => {
  const bad: Array<Partial<SegmentorConfig>> = [{ numClasses: 0 }, { hrCropSize: [64, 0] }, { asppDilations: [] }, { scales: [1, -0.5] }, { dropoutRatio: 1 }];
  for (const b of bad) assert.throws(() => new Segmentor(new ParamRegistry(), { ...CFG, ...b }), SegmentorConfigError, JSON.stringify(b));
});

test('initialisation follows SPEC §3.4', async () => {
  await withLeakCheck(() => {
    const cfg: SegmentorConfig = { ...CFG, headChannels: 64 };
    const { store } = build(cfg);
    try {
      const stats = (name: string) => {
        const a = Array.from(store.get(name).dataSync());
        const mean = a.reduce((s, v) => s + v, 0) / a.length;
        const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
        const maxAbs = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        return { mean, std, maxAbs };
      };
      const near = (got: number, want: number, rel: number, what: string) =>
        assert.ok(Math.abs(got - want) <= rel * want, `${what}: ${got} vs ${want}`);
      // ConvModule: kaiming normal, fan_out = out·k·k (depthwise: C·k·k).
      near(stats('decode_head.head.fuse_layer.bottleneck.conv.weight').std, Math.sqrt(2 / (64 * 9)), 0.03, 'bottleneck std');
      near(stats('decode_head.head.fuse_layer.aspp_modules.1.depthwise_conv.conv.weight').std, Math.sqrt(2 / (256 * 9)), 0.1, 'depthwise std');
      near(stats('decode_head.head.conv_seg.weight').std, 0.01, 0.2, 'conv_seg std');
      assert.equal(stats('decode_head.head.conv_seg.bias').maxAbs, 0);
      // nn.Linear / nn.Conv2d defaults: U(±1/sqrt(fan_in)).
      const lin = stats('decode_head.head.embed_layers.3.proj.weight');
      assert.ok(lin.maxAbs <= 1 / Math.sqrt(32) && lin.maxAbs > 0.9 / Math.sqrt(32));
      const cls = stats('cls_head.0.weight');
      assert.ok(cls.maxAbs <= 1 / Math.sqrt(80 * 9) && cls.maxAbs > 0.9 / Math.sqrt(80 * 9));
      assert.equal(stats('cls_head.1.0.weight').mean, 1);
      assert.equal(stats('proj_head.proj.1.0.running_var').mean, 1);
    } finally {
      store.dispose();
    }
  });
});
