// ClassMix (get_class_masks / generate_class_mask / one_mix) replayed with the recorded
// np.random.choice draws, against mix.* and the train step's step.mix_mask_* / mixed_*.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { classMix, classMixMasks, type ClassChooser } from '../../src/model/uda/class-mix.js';
import { classMembershipMask } from '../../src/model/losses/label-downscale.js';
import { assertSameInts, intsOf, labels3d, nhwcOf, tensorOf } from './self-training-fixtures.js';

before(async () => {
  await useTestBackend();
});

/** Feeds the recorded draws `${prefix}${i}` back, checking n and k are what the original used. */
function replayChooser(g: Golden, prefix: string): ClassChooser {
  return (n, k, image) => {
    const drawn = Array.from(intsOf(g, `${prefix}${image}`));
    assert.equal(drawn.length, k, `image ${image}: original drew ${drawn.length} of the classes, we want ${k} (n=${n})`);
    return drawn;
  };
}

for (const g of allGoldens()) {
  describe(`ClassMix parity [${g.name}]`, () => {
    it('mix.*: unique classes, per-image masks, fixed-class mask, mixed image/label/weight', async () => {
      await withLeakCheck(() => {
        tf.tidy(() => {
          const gt = labels3d(g, 'mix.gt');
          const m = classMixMasks(gt, replayChooser(g, 'mix.np_choice_'));
          assertSameInts('mix.unique_classes', m.classes, intsOf(g, 'mix.unique_classes'));
          const [b, h, w] = gt.shape;
          const maskData = m.masks.dataSync();
          for (let i = 0; i < b; i++) assertSameInts(`mix.mask_${i}`, maskData.subarray(i * h * w, (i + 1) * h * w), intsOf(g, `mix.mask_${i}`));

          const img1 = (gt.dataSync() as Int32Array).subarray(h * w, 2 * h * w);
          assertSameInts('mix.fixed_mask_img1', classMembershipMask(img1, Array.from(intsOf(g, 'mix.fixed_classes'))), intsOf(g, 'mix.fixed_mask_img1'));

          const mixed = classMix(
            m.masks,
            { img: nhwcOf(g, 'mix.src_img'), label: gt },
            { img: nhwcOf(g, 'mix.tgt_img'), pseudoLabel: tensorOf(g, 'mix.pseudo_label') as tf.Tensor3D, pseudoWeight: tensorOf(g, 'mix.pseudo_weight') as tf.Tensor3D },
          );
          assertClose('mix.mixed_img', mixed.img, nhwcOf(g, 'mix.mixed_img'), 1e-6);
          assertSameInts('mix.mixed_lbl', mixed.label.dataSync(), intsOf(g, 'mix.mixed_lbl'));
          assertClose('mix.mixed_weight', mixed.weight, labels3d(g, 'mix.mixed_weight'), 0);
        });
      });
    });

    it('step.*: masks and mixed batch of the train step (pseudo weight = q · valid mask)', async (t) => {
      if (!g.has('step.mixed_img')) return t.skip('no step.* tensors in this set');
      await withLeakCheck(() => {
        tf.tidy(() => {
          const gt = labels3d(g, 'step.gt');
          const m = classMixMasks(gt, replayChooser(g, 'step.np_choice_'));
          const [b, h, w] = gt.shape;
          const maskData = m.masks.dataSync();
          for (let i = 0; i < b; i++) assertSameInts(`step.mix_mask_${i}`, maskData.subarray(i * h * w, (i + 1) * h * w), intsOf(g, `step.mix_mask_${i}`));
          const pseudoWeight = tf.mul(tf.fill([b, h, w], g.scalar('step.pseudo_fraction')), labels3d(g, 'step.valid_pseudo_mask')) as tf.Tensor3D;
          const mixed = classMix(
            m.masks,
            { img: nhwcOf(g, 'step.img'), label: gt },
            { img: nhwcOf(g, 'step.target_img'), pseudoLabel: tensorOf(g, 'step.pseudo_label') as tf.Tensor3D, pseudoWeight },
          );
          assertClose('step.mixed_img', mixed.img, nhwcOf(g, 'step.mixed_img'), 1e-6);
          assertSameInts('step.mixed_lbl', mixed.label.dataSync(), intsOf(g, 'step.mixed_lbl'));
          assertClose('step.mixed_seg_weight', mixed.weight, tensorOf(g, 'step.mixed_seg_weight'), 0);
        });
      });
    });
  });
}
