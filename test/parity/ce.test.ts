// mmseg cross-entropy (mean over ALL pixels), BaseDecodeHead.losses (resize + acc) and the
// HRDA fused/detail split, against the golden ce.* and step.stage{1,2}.* values.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { closeScalar, labels3d, nhwcOf, tensorOf } from './self-training-fixtures.js';
import { crossEntropyLoss, crossEntropyMap, hrdaSegLoss, segLoss, type CropBox } from '../../src/model/losses/cross-entropy.js';


before(async () => {
  await useTestBackend();
});

for (const g of allGoldens()) {
  describe(`cross-entropy parity [${g.name}]`, () => {
    it('per-pixel CE map and the all-pixel means (weighted and not)', async () => {
      await withLeakCheck(() => {
        tf.tidy(() => {
          const logits = nhwcOf(g, 'ce.logits');
          const labels = labels3d(g, 'ce.label');
          const weight = tensorOf(g, 'ce.weight') as tf.Tensor3D;
          assertClose('ce.loss_map', crossEntropyMap(logits, labels), tensorOf(g, 'ce.loss_map'), 1e-5, 1e-5);
          closeScalar('ce.loss_weighted', crossEntropyLoss(logits, labels, weight), g.scalar('ce.loss_weighted'), 1e-5);
          closeScalar('ce.loss_unweighted', crossEntropyLoss(logits, labels), g.scalar('ce.loss_unweighted'), 1e-5);
          // The other convention (mean over valid pixels) must NOT be what we compute, unless nothing is ignored.
          const hasIgnored = tf.any(tf.equal(labels, 255)).dataSync()[0] === 1;
          if (hasIgnored) {
            const ours = crossEntropyLoss(logits, labels).dataSync()[0];
            assert.ok(Math.abs(ours - g.scalar('ce.NOT_MMSEG_mean_over_valid_pixels_unweighted')) > 1e-4, 'loss equals the valid-pixel mean');
          }
        });
      });
    });

    it('BaseDecodeHead.losses: resize low-res logits to the labels, loss_seg and acc_seg', async () => {
      await withLeakCheck(() => {
        tf.tidy(() => {
          const logits = nhwcOf(g, 'ce.logits_lowres');
          const labels = labels3d(g, 'ce.label');
          const weight = tensorOf(g, 'ce.weight') as tf.Tensor3D;
          for (const [variant, w] of [
            ['weighted', weight],
            ['unweighted', undefined],
          ] as const) {
            const r = segLoss(logits, labels, w);
            closeScalar(`ce.head_losses_${variant}.loss_seg`, r.loss, g.scalar(`ce.head_losses_${variant}.loss_seg`), 1e-5);
            closeScalar(`ce.head_losses_${variant}.acc_seg`, r.acc, g.scalar(`ce.head_losses_${variant}.acc_seg`), 0, 1e-6);
          }
        });
      });
    });

    it('HRDA fused (×0.9) / detail-crop (×0.1) split on the train-step logits', async (t) => {
      if (!g.has('step.stage2.fused_seg')) return t.skip('no step.* tensors in this set');
      const hrLossWeight: number = g.manifest.config.model.decode_head.hr_loss_weight;
      const boxes = tensorOf(g, 'step.crop_boxes');
      const boxRows = boxes.arraySync() as number[][];
      boxes.dispose();
      await withLeakCheck(() => {
        tf.tidy(() => {
          const stages = [
            { stage: 'stage1', labels: labels3d(g, 'step.gt'), weight: undefined, box: boxRows[0] },
            { stage: 'stage2', labels: labels3d(g, 'step.mixed_lbl'), weight: tensorOf(g, 'step.mixed_seg_weight') as tf.Tensor3D, box: boxRows[1] },
          ];
          for (const s of stages) {
            const r = hrdaSegLoss({
              fused: nhwcOf(g, `step.${s.stage}.fused_seg`),
              hrSeg: nhwcOf(g, `step.${s.stage}.hr_seg`),
              labels: s.labels,
              weight: s.weight,
              cropBox: s.box as unknown as CropBox,
              hrLossWeight,
            });
            // Stage 1's decode.loss_seg also holds PiPa's 0.1·pixel-contrast term (not part of this helper).
            const contrast = s.stage === 'stage1' ? 0.1 * g.scalar('step.stage1.loss_contrast') : 0;
            closeScalar(`${s.stage} decode.loss_seg (fused part)`, r.fusedLoss, g.scalar(`step.${s.stage}.decode.loss_seg`) - contrast, 1e-5, 1e-6);
            closeScalar(`${s.stage} decode.hr.loss_seg`, r.hrLoss, g.scalar(`step.${s.stage}.decode.hr.loss_seg`), 1e-5);
            closeScalar(`${s.stage} decode.acc_seg`, r.fusedAcc, g.scalar(`step.${s.stage}.decode.acc_seg`), 0, 1e-6);
            closeScalar(`${s.stage} decode.hr.acc_seg`, r.hrAcc, g.scalar(`step.${s.stage}.decode.hr.acc_seg`), 0, 1e-6);
          }
        });
      });
    });
  });
}
