// The complete DACS.forward_train of the fixture (step.*) replayed through udaStep with the
// recorded crop boxes, ClassMix choices and randperms injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { segmentorConfigFromManifest } from '../helpers/model-from-manifest.js';
import { UdaModel } from '../../src/model/uda/uda-model.js';
import { udaStep, type UdaStepOptions } from '../../src/model/uda/uda-step.js';
import type { StepDraws } from '../../src/model/uda/step-draws.js';
import { readPthFile } from '../../src/model/weights/pth.js';
import { splitUdaStateDict } from '../../src/model/weights/key-layouts.js';
import { loadStateDictIntoStore } from '../../src/model/weights/load-into-store.js';
import { replayPermutations } from '../../src/model/losses/anchor-sampling.js';
import { rngFor } from '../../src/common/random.js';
import type { CropBox } from '../../src/model/hrda/crop-box.js';

function loadUdaModel(g: Golden): UdaModel {
  const model = new UdaModel(segmentorConfigFromManifest(g), 0);
  const parts = splitUdaStateDict(readPthFile(g.weight('uda_pth')));
  loadStateDictIntoStore(model.student, parts.student, { strict: true });
  loadStateDictIntoStore(model.teacher, parts.teacher, { strict: true });
  loadStateDictIntoStore(model.imnet, parts.imnet, { strict: true });
  return model;
}

function recordedDraws(g: Golden): StepDraws {
  const boxes = g.npy('step.crop_boxes').data as Int32Array;
  const box = (r: number): CropBox => [boxes[4 * r], boxes[4 * r + 1], boxes[4 * r + 2], boxes[4 * r + 3]];
  const choices = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `step.np_choice_${i}`).filter((n) => g.has(n)).map((n) => Array.from(g.npy(n).data));
  const perms = g.names('step.stage1.randperm_').sort().map((n) => Array.from(g.npy(n).data));
  const r = rngFor(0, 'unused');
  return {
    boxes: [box(0), box(1)],
    classChooser: (_n, _k, image) => choices[image],
    pixelPerms: replayPermutations(perms),
    gates: { cj: 0.5, bl: 0 },
    augRng: r,
    dropoutRng: r,
    patchRng: r,
  };
}

function optionsFor(g: Golden): UdaStepOptions {
  const uda = g.manifest.config.uda;
  const pc = g.manifest.sections.pixel_contrast.hyper;
  return {
    numClasses: g.manifest.config.model.decode_head.num_classes,
    train: false,
    pseudoThreshold: uda.pseudo_threshold,
    hrLossWeight: g.manifest.config.model.decode_head.hr_loss_weight,
    selfTraining: true,
    mix: 'class',
    featureDistance: { enabled: true, lambda: uda.imnet_feature_dist_lambda, classes: uda.imnet_feature_dist_classes, minRatio: uda.imnet_feature_dist_scale_min_ratio },
    // The fixture ran with color_jitter_probability = 1.0 (never jitter) and blur off.
    strong: { jitterP: 1.0, jitterStrength: uda.color_jitter_strength, blur: false, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
    pixel: {
      enabled: true,
      mode: 'code-exact',
      weight: pc.loss_weight_in_HRDAHead,
      temperature: pc.temperature,
      baseTemperature: pc.base_temperature,
      maxSamples: pc.max_samples,
      maxViews: pc.max_views,
    },
    patch: null,
  };
}

for (const g of allGoldens()) {
  test(`[${g.name}] full training step (DACS.forward_train) replay`, async () => {
    await useTestBackend();
    const model = loadUdaModel(g);
    await withLeakCheck(() => {
      const batch = tf.tidy(() => ({
        srcImg: g.nhwc('step.img'),
        srcLabel: tf.squeeze(g.tensor('step.gt'), [1]) as tf.Tensor3D,
        tgtImg: g.nhwc('step.target_img'),
        validPseudoMask: tf.squeeze(g.tensor('step.valid_pseudo_mask'), [1]) as tf.Tensor3D,
      }));
      const seen = new Map<string, tf.Tensor>();
      const r = udaStep(model, batch, recordedDraws(g), optionsFor(g), (name, t) => seen.set(name, tf.keep(t.clone())));
      try {
        tf.tidy(() => {
          assertClose('ema_logits', seen.get('ema_logits')!, g.nhwc('step.ema_logits'), 1e-3);
        });
        const pl = seen.get('pseudo_label')!;
        const expPl = g.tensor('step.pseudo_label');
        const mism = tf.tidy(() => tf.sum(tf.notEqual(pl, expPl)).dataSync()[0]);
        expPl.dispose();
        console.log(`  pseudo_label mismatches: ${mism}`);
        assert.equal(mism, 0);
        const masks = seen.get('mix_masks')!;
        const expMasks = tf.tidy(() => tf.concat([0, 1].map((i) => tf.reshape(g.tensor(`step.mix_mask_${i}`), [1, masks.shape[1]!, masks.shape[2]!]))));
        assertClose('mix_masks', masks, expMasks, 0);
        expMasks.dispose();
        tf.tidy(() => {
          assertClose('mixed_img', seen.get('mixed_img')!, g.nhwc('step.mixed_img'), 1e-5);
        });
        tf.tidy(() => {
          assertClose('mixed_lbl', seen.get('mixed_lbl')!, tf.squeeze(g.tensor('step.mixed_lbl'), [1]), 0);
        });
        tf.tidy(() => {
          assertClose('mixed_seg_weight', seen.get('mixed_seg_weight')!, g.tensor('step.mixed_seg_weight'), 1e-4);
        });
        tf.tidy(() => {
          assertClose('fd.gt_rescaled', seen.get('fd.gt_rescaled')!, tf.squeeze(g.tensor('step.fd.gt_rescaled'), [1]), 0);
        });
        const expect: Array<[string, string]> = [
          ['loss_contrast', 'step.stage1.loss_contrast'],
          ['decode.loss_seg', 'step.log_vars.decode.loss_seg'],
          ['decode.acc_seg', 'step.log_vars.decode.acc_seg'],
          ['decode.hr.loss_seg', 'step.log_vars.decode.hr.loss_seg'],
          ['decode.hr.acc_seg', 'step.log_vars.decode.hr.acc_seg'],
          ['src.loss_imnet_feat_dist', 'step.log_vars.src.loss_imnet_feat_dist'],
          ['mix.decode.loss_seg', 'step.log_vars.mix.decode.loss_seg'],
          ['mix.decode.acc_seg', 'step.log_vars.mix.decode.acc_seg'],
          ['mix.decode.hr.loss_seg', 'step.log_vars.mix.decode.hr.loss_seg'],
          ['mix.decode.hr.acc_seg', 'step.log_vars.mix.decode.hr.acc_seg'],
        ];
        for (const [mine, theirs] of expect) {
          const want = g.scalar(theirs);
          const got = r.logVars[mine];
          const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
          console.log(`  ${mine}: ${got} vs ${want} (rel ${rel.toExponential(2)})`);
          assert.ok(rel <= 1e-4, `${mine}: ${got} vs ${want}`);
        }
        const mixTotal = r.logVars['mix.decode.loss_seg'] + r.logVars['mix.decode.hr.loss_seg'];
        assert.ok(Math.abs(mixTotal - g.scalar('step.log_vars.loss')) <= 1e-4 * g.scalar('step.log_vars.loss'));
        assert.ok(Math.abs(r.logVars.pseudo_fraction - g.scalar('step.pseudo_fraction')) < 1e-3);
        // Gradients: every trainable parameter except the never-trained cls_head got one, all finite.
        assert.ok(r.grads.size > 0);
        for (const [name, gr] of r.grads) assert.ok(tf.tidy(() => tf.all(tf.isFinite(gr)).dataSync()[0]) === 1, `${name} grad finite`);
        assert.ok(![...r.grads.keys()].some((n) => n.startsWith('cls_head.')));
        assert.ok(r.grads.has('proj_head.proj.0.weight'), 'pixel contrast reaches proj_head');
        assert.ok(r.grads.has('backbone.patch_embed1.proj.weight'));
      } finally {
        for (const t of seen.values()) t.dispose();
        for (const t of r.grads.values()) t.dispose();
        tf.dispose(Object.values(batch));
      }
    });
    model.dispose();
  });
}
