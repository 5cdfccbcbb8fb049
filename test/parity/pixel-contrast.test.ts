// Pixel-wise contrast (SPEC §1.6) against the PyTorch PixelContrastLoss: the
// deterministic core, label resizing, replayed anchor sampling and the full loss.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { readNpy, type NpyArray } from '../helpers/npy.js';
import { useTestBackend } from '../helpers/backend.js';
import {
  prepareContrastLabels,
  replayPermutations,
  sampleAnchors,
  type AnchorSamplingOptions,
} from '../../src/model/losses/anchor-sampling.js';
import {
  gatherAnchorFeatures,
  pixelContrastCore,
  pixelContrastLoss,
  type PixelContrastOptions,
} from '../../src/model/losses/pixel-contrast.js';

before(async () => {
  await useTestBackend();
});

function optionsOf(g: Golden): { loss: PixelContrastOptions; sampling: AnchorSamplingOptions } {
  const h = g.manifest.sections.pixel_contrast.hyper;
  return {
    loss: { temperature: h.temperature, baseTemperature: h.base_temperature },
    sampling: { maxSamples: h.max_samples, maxViews: h.max_views, ignoreLabels: [h.ignore_label] },
  };
}

/**
 * Workaround until test/helpers/golden.ts is fixed: Golden.npy() joins 'tensors/' in front of
 * manifest `file` entries that already start with 'tensors/'.
 */
function npy(g: Golden, name: string): NpyArray {
  const file: string | undefined = g.manifest.tensors[name]?.file;
  if (!file) throw new Error(`${g.dir}: tensor '${name}' not in manifest`);
  const direct = join(g.dir, file);
  return readNpy(existsSync(direct) ? direct : join(g.dir, 'tensors', file));
}

function floats(g: Golden, name: string): tf.Tensor {
  const a = npy(g, name);
  return tf.tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape, 'float32');
}

function nhwc(g: Golden, name: string): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(floats(g, name), [0, 2, 3, 1]) as tf.Tensor4D);
}

function ints(g: Golden, name: string): Int32Array {
  return Int32Array.from(npy(g, name).data as ArrayLike<number>);
}

/** The recorded torch.randperm outputs in call order (randperm_00, _01, ...). */
function recordedPerms(g: Golden): Int32Array[] {
  return g
    .names('pixcon.full.randperm_')
    .sort()
    .map((n) => ints(g, n));
}

for (const g of allGoldens()) {
  test(`[${g.name}] pixcon.core: _contrastive on the stored anchors`, async () => {
    const o = optionsOf(g);
    await withLeakCheck(() => {
      const feats = floats(g, 'pixcon.core.feats_') as tf.Tensor3D;
      const classes = Array.from(npy(g, 'pixcon.core.labels_').data as ArrayLike<number>);
      const loss = pixelContrastCore(feats, classes, o.loss);
      const want = tf.scalar(g.scalar('pixcon.core.loss'));
      assertClose('pixcon.core.loss', loss, want, 0, 1e-5);
      tf.dispose([feats, loss, want]);
    });
  });

  test(`[${g.name}] pixcon.full: labels, replayed sampling, gathered anchors, loss`, async () => {
    const o = optionsOf(g);
    await withLeakCheck(() => {
      const emb = nhwc(g, 'pixcon.full.feats');
      const [B, h, w] = emb.shape;
      const labelShape = g.manifest.tensors['pixcon.full.labels'].shape as [number, number, number];

      // 1. nearest resize of the full label map (255 stays a label value)
      const labels = prepareContrastLabels(ints(g, 'pixcon.full.labels'), labelShape, [h, w]);
      assert.deepEqual(labels, ints(g, 'pixcon.full.labels_resized'), 'labels_resized');

      // 2. sampling replayed from the recorded permutations must reproduce the stored indices
      const perms = replayPermutations(recordedPerms(g));
      const sample = sampleAnchors(labels, ints(g, 'pixcon.full.predict'), B, h * w, perms, o.sampling);
      assert.equal(perms.remaining(), 0, 'every recorded permutation is consumed');
      const wantIndex = ints(g, 'pixcon.full.sampled_flat_index');
      const [K, V] = g.manifest.tensors['pixcon.full.sampled_flat_index'].shape;
      assert.equal(sample.numAnchors, K);
      assert.equal(sample.viewsPerAnchor, V);
      assert.deepEqual(sample.flatIndex, wantIndex, 'sampled_flat_index');
      assert.deepEqual(sample.imageOfAnchor, ints(g, 'pixcon.full.sampled_image_of_anchor'), 'image of anchor');
      assert.deepEqual(
        Array.from(sample.classOfAnchor),
        Array.from(npy(g, 'pixcon.full.sampled_y_').data as ArrayLike<number>),
        'sampled_y_',
      );
      console.log(`  K=${K} n_view=${V} classes=[${Array.from(sample.classOfAnchor)}]`);

      // 3. gathered features and the loss
      const X = gatherAnchorFeatures(emb, sample);
      const wantX = floats(g, 'pixcon.full.sampled_X_');
      assertClose('pixcon.full.sampled_X_', X, wantX, 0, 0);
      const loss = pixelContrastLoss(emb, sample, o.loss);
      const want = tf.scalar(g.scalar('pixcon.full.loss'));
      assertClose('pixcon.full.loss', loss, want, 0, 1e-5);
      tf.dispose([emb, X, wantX, loss, want]);
    });
  });

  test(`[${g.name}] pixcon.full: gradient w.r.t. the embedding is finite and non-zero`, async () => {
    const o = optionsOf(g);
    await withLeakCheck(() => {
      const init = nhwc(g, 'pixcon.full.feats');
      const [B, h, w] = init.shape;
      const labelShape = g.manifest.tensors['pixcon.full.labels'].shape as [number, number, number];
      const labels = prepareContrastLabels(ints(g, 'pixcon.full.labels'), labelShape, [h, w]);
      const sample = sampleAnchors(
        labels,
        ints(g, 'pixcon.full.predict'),
        B,
        h * w,
        replayPermutations(recordedPerms(g)),
        o.sampling,
      );
      const emb = tf.variable(init);
      const { value, grads } = tf.variableGrads(() => pixelContrastLoss(emb as tf.Tensor4D, sample, o.loss), [emb]);
      const gd = grads[emb.name].dataSync();
      let nonZero = 0;
      for (const v of gd) {
        assert.ok(Number.isFinite(v), 'finite gradient');
        if (v !== 0) nonZero++;
      }
      // only sampled pixels receive gradient
      assert.ok(nonZero > 0 && nonZero <= sample.numAnchors * sample.viewsPerAnchor * init.shape[3]);
      console.log(`  loss ${value.dataSync()[0]}, ${nonZero} non-zero gradient entries`);
      tf.dispose([init, emb, value, ...Object.values(grads)]);
    });
  });
}
