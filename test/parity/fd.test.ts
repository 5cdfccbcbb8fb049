// ImageNet feature distance (DACS.calc_feat_dist / masked_feat_dist / downscale_label_ratio)
// against the golden fd.* values and the train step's step.fd.* label maps.
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { featureDistanceLoss, maskedFeatDist, thingMask } from '../../src/model/losses/feature-distance.js';
import { assertSameInts, closeScalar, intsOf, labels3d, nhwcOf } from './self-training-fixtures.js';

before(async () => {
  await useTestBackend();
});

for (const g of allGoldens()) {
  const sec = g.manifest.sections.feature_distance;
  const numClasses: number = g.manifest.config.model.decode_head.num_classes;
  const opts = { lambda: sec.lambda_, thingClasses: sec.classes, minRatio: sec.scale_min_ratio, numClasses };

  describe(`feature distance parity [${g.name}]`, () => {
    it('downscale_label_ratio and the thing-class mask are exact', () => {
      const gtShape = g.manifest.tensors['fd.gt'].shape as number[]; // B,1,H,W
      const featShape = g.manifest.tensors['fd.feat_student'].shape as number[]; // B,C,h,w
      const tm = thingMask(intsOf(g, 'fd.gt'), [gtShape[0], gtShape[2], gtShape[3]], [featShape[2], featShape[3]], opts);
      console.log(`  scale factor ${tm.scaleFactor} (label width ${gtShape[3]} // feature width ${featShape[3]})`);
      assertSameInts('fd.gt_rescaled', tm.labelsRescaled, intsOf(g, 'fd.gt_rescaled'));
      assertSameInts('fd.fdist_mask', tm.mask, intsOf(g, 'fd.fdist_mask'));
    });

    it('train-step labels: step.fd.gt_rescaled and step.fd.fdist_mask', (t) => {
      if (!g.has('step.fd.gt_rescaled')) return t.skip('no step.fd.* tensors in this set');
      const gtShape = g.manifest.tensors['step.gt'].shape as number[];
      const grid = g.manifest.tensors['step.fd.gt_rescaled'].shape as number[];
      // The step's features are not stored; their grid is the rescaled label grid.
      const tm = thingMask(intsOf(g, 'step.gt'), [gtShape[0], gtShape[2], gtShape[3]], [grid[2], grid[3]], opts);
      assertSameInts('step.fd.gt_rescaled', tm.labelsRescaled, intsOf(g, 'step.fd.gt_rescaled'));
      assertSameInts('step.fd.fdist_mask', tm.mask, intsOf(g, 'step.fd.fdist_mask'));
    });

    it('masked_feat_dist and λ·FD match (rtol 1e-5)', async () => {
      await withLeakCheck(() => {
        tf.tidy(() => {
          const fS = nhwcOf(g, 'fd.feat_student');
          const fI = nhwcOf(g, 'fd.feat_imnet');
          const mask = labels3d(g, 'fd.fdist_mask');
          closeScalar('fd.masked_feat_dist (stored mask)', maskedFeatDist(fS, fI, mask), g.scalar('fd.masked_feat_dist'), 1e-5);
          const r = featureDistanceLoss(fS, fI, labels3d(g, 'fd.gt'), opts);
          closeScalar('fd.masked_feat_dist (from labels)', r.featDist, g.scalar('fd.masked_feat_dist'), 1e-5);
          closeScalar('fd.loss_imnet_feat_dist', r.loss, g.scalar('fd.loss_imnet_feat_dist'), 1e-5);
        });
      });
    });
  });
}
