// Parity of the whole segmentor against each golden set: declared keys, weight loading,
// HRDA encode_decode, test-time slide inference, the training forward with the recorded
// crop boxes, and PiPa's cls_head / proj_head on the HR-crop features. Eval mode (BN running
// stats, no dropout), as the fixtures were recorded.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { buildFromManifest, fixtureNhwc, fixtureTensor, loadFromManifest, pthReader } from '../helpers/model-from-manifest.js';
import { EVAL_MODE } from '../../src/model/layers/forward-mode.js';
import { loadStateDictIntoStore } from '../../src/model/weights/load-into-store.js';
import type { StateDict } from '../../src/model/weights/tensor-record.js';
import type { CropBox } from '../../src/model/hrda/crop-box.js';

const FEAT_ATOL = 1e-4;
const LOGIT_ATOL = 1e-3;
const PROB_ATOL = 1e-4;
/** Argmax may differ only where the reference's top-1/top-2 probability gap is below this. */
const TIE_GAP = 1e-4;

before(async () => {
  await useTestBackend();
});

/** Pixels where argmax(ours) ≠ reference labels although the reference is not a near-tie. */
function argmaxMismatches(label: string, ours: tf.Tensor4D, refProbs: tf.Tensor4D, refLabels: tf.Tensor): number {
  const k = ours.shape[3];
  const mine = tf.tidy(() => tf.argMax(ours, 3)).dataSync();
  const ref = refLabels.dataSync();
  const p = refProbs.dataSync();
  let flips = 0;
  let hard = 0;
  for (let i = 0; i < mine.length; i++) {
    if (mine[i] === ref[i]) continue;
    flips++;
    const row = Array.from(p.subarray(i * k, (i + 1) * k)).sort((a, b) => b - a);
    if (row[0] - row[1] >= TIE_GAP) hard++;
  }
  console.log(`  ${label}: ${flips} of ${mine.length} argmax labels differ (${hard} outside near-ties)`);
  return hard;
}

function cropBoxes(g: Golden): CropBox[] {
  const rows = fixtureTensor(g, 'step.crop_boxes');
  const v = Array.from(rows.dataSync());
  rows.dispose();
  return [0, 1].map((r) => v.slice(r * 4, r * 4 + 4) as unknown as CropBox);
}

for (const g of allGoldens()) {
  test(`[${g.name}] declared keys equal the original segmentor state dict (names, shapes, order)`, async () => {
    await withLeakCheck(() => {
      const { registry, store } = buildFromManifest(g);
      store.dispose();
      const expected = Object.entries(g.manifest.sections.weights.segmentor_keys as Record<string, { shape: number[] }>);
      const ours = registry.specs.map((s) => [s.name, s.torchShape] as const);
      assert.deepEqual(
        ours.map(([n]) => n),
        expected.map(([n]) => n),
      );
      ours.forEach(([n, shape], i) => assert.deepEqual(shape, expected[i][1].shape, `shape of ${n}`));
      const numel = (kind: 'param' | 'buffer' | 'float') =>
        registry.specs
          .filter((s) => (kind === 'float' ? s.dtype === 'float32' : s.kind === kind))
          .reduce((a, s) => a + s.torchShape.reduce((x, y) => x * y, 1), 0);
      // The manifest counts every float element (parameters + BN running stats).
      assert.equal(numel('float'), g.manifest.sections.weights.segmentor_num_params);
      console.log(`  ${ours.length} tensors, ${numel('param')} trainable + ${numel('buffer')} buffer elements`);
    });
  });

  test(`[${g.name}] weights load strictly from .safetensors (and .pth when its reader exists)`, async () => {
    await withLeakCheck(async () => {
      const { store, report } = loadFromManifest(g);
      try {
        assert.equal(report.missing.length, 0);
        assert.deepEqual(report.unexpected, []);
        const readPth = await pthReader();
        if (!readPth) {
          console.log('  src/model/weights/pth.ts not present: .pth loading skipped');
          return;
        }
        const raw = (await readPth(g.weight('segmentor_pth'))) as unknown;
        const sd = (raw instanceof Map ? raw : ((raw as any).stateDict ?? (raw as any).state_dict)) as StateDict;
        const other = buildFromManifest(g).store;
        try {
          loadStateDictIntoStore(other, sd, { strict: true, file: g.weight('segmentor_pth') });
          for (const name of store.names()) {
            tf.tidy(() => assert.equal(tf.max(tf.abs(tf.sub(store.get(name), other.get(name)))).dataSync()[0], 0, `${name} differs between .pth and .safetensors`));
          }
          console.log(`  .pth: ${store.names().length} tensors identical to .safetensors`);
        } finally {
          other.dispose();
        }
      } finally {
        store.dispose();
      }
    });
  });

  test(`[${g.name}] encode_decode (LR whole + overlapping HR windows)`, async () => {
    await withLeakCheck(() => {
      const { segmentor, store } = loadFromManifest(g);
      try {
        tf.tidy(() => {
          const out = segmentor.encodeDecode(store, fixtureNhwc(g, 'fwd.input'), EVAL_MODE);
          assertClose('fwd.encode_decode', out, fixtureNhwc(g, 'fwd.encode_decode'), LOGIT_ATOL);
          const ema = segmentor.encodeDecode(store, fixtureNhwc(g, 'step.target_img'), EVAL_MODE);
          const ref = fixtureNhwc(g, 'step.ema_logits');
          assertClose('step.ema_logits', ema, ref, LOGIT_ATOL);
          assert.equal(argmaxMismatches('step.pseudo_label', ema, tf.softmax(ref) as tf.Tensor4D, fixtureTensor(g, 'step.pseudo_label')), 0);
        });
      } finally {
        store.dispose();
      }
    });
  });

  test(`[${g.name}] test-time slide inference → rescale → softmax, argmax`, async () => {
    await withLeakCheck(() => {
      const { segmentor, store } = loadFromManifest(g);
      try {
        tf.tidy(() => {
          const ori = g.manifest.sections.inference.ori_shape as [number, number];
          const probs = segmentor.slideInference(store, fixtureNhwc(g, 'inf.input'), ori, EVAL_MODE);
          const ref = fixtureNhwc(g, 'inf.softmax');
          assertClose('inf.softmax', probs, ref, PROB_ATOL);
          console.log(`  reference min top1−top2 gap: ${g.manifest.sections.inference.min_top1_top2_prob_gap}`);
          assert.equal(argmaxMismatches('inf.seg_pred', probs, ref, fixtureTensor(g, 'inf.seg_pred')), 0);
        });
      } finally {
        store.dispose();
      }
    });
  });

  test(`[${g.name}] training forward with the recorded crop boxes, and the PiPa heads`, async () => {
    await withLeakCheck(() => {
      const { segmentor, store } = loadFromManifest(g);
      try {
        const boxes = cropBoxes(g);
        console.log(`  crop boxes (y1,y2,x1,x2): stage1 [${boxes[0]}], stage2 [${boxes[1]}]`);
        const stages = [
          { name: 'stage1', img: 'step.img', box: boxes[0] },
          { name: 'stage2', img: 'step.mixed_img', box: boxes[1] },
        ];
        for (const s of stages) {
          tf.tidy(() => {
            const out = segmentor.forwardTrain(store, fixtureNhwc(g, s.img), s.box, EVAL_MODE);
            assertClose(`step.${s.name}.fused_seg`, out.fused, fixtureNhwc(g, `step.${s.name}.fused_seg`), LOGIT_ATOL);
            assertClose(`step.${s.name}.lr_seg_times_1_minus_att`, out.lrSegTimes1MinusAtt, fixtureNhwc(g, `step.${s.name}.lr_seg_times_1_minus_att`), LOGIT_ATOL);
            assertClose(`step.${s.name}.hr_seg`, out.hrSeg, fixtureNhwc(g, `step.${s.name}.hr_seg`), LOGIT_ATOL);
            if (s.name !== 'stage1') return;
            const { clsSeg, embed } = segmentor.pipaHeads(store, out.hrFeats, EVAL_MODE);
            assertClose('step.stage1.cls_head_seg', clsSeg, fixtureNhwc(g, 'step.stage1.cls_head_seg'), LOGIT_ATOL);
            assertClose('step.stage1.proj_embed', embed, fixtureNhwc(g, 'step.stage1.proj_embed'), FEAT_ATOL);
            const refCls = fixtureNhwc(g, 'step.stage1.cls_head_seg');
            assert.equal(argmaxMismatches('step.stage1.predict', clsSeg, tf.softmax(refCls) as tf.Tensor4D, fixtureTensor(g, 'step.stage1.predict')), 0);
          });
        }
      } finally {
        store.dispose();
      }
    });
  });
}
