// ClassMix rules: batch-wide unique classes (255 included), ⌈n/2⌉ draws per image, chooser
// validation, seeded default chooser, and one_mix broadcasting over NHWC images.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { rngFor } from '../../src/common/random.js';
import { ClassMixError, classesToMix, classMix, classMixMasks, oneMix, rngChooser, uniqueLabels } from '../../src/model/uda/class-mix.js';

before(async () => {
  await useTestBackend();
});

describe('ClassMix', () => {
  it('(n + n%2)/2 classes, from the sorted unique labels of the whole batch', () => {
    assert.deepEqual([1, 2, 3, 7, 8].map(classesToMix), [1, 1, 2, 4, 4]);
    assert.deepEqual(uniqueLabels(Int32Array.from([255, 3, 0, 3, 17, 0])), [0, 3, 17, 255]);
  });

  it('masks select the chosen classes of each image; a class absent from an image selects nothing there', async () => {
    await withLeakCheck(() => {
      // image 0 has {0,1}, image 1 has {2,255}; batch classes [0,1,2,255] → 2 per image.
      const labels = tf.tensor3d([0, 1, 1, 0, 2, 255, 255, 2], [2, 2, 2], 'int32');
      const m = classMixMasks(labels, (_n, _k, image) => (image === 0 ? [1, 2] : [3, 0]));
      assert.deepEqual(m.classes, [0, 1, 2, 255]);
      assert.deepEqual(m.chosen, [
        [1, 2],
        [255, 0],
      ]);
      assert.deepEqual(Array.from(m.masks.dataSync()), [0, 1, 1, 0, 0, 1, 1, 0]);
      tf.dispose([labels, m.masks]);
    });
  });

  it('validates what the chooser returns', async () => {
    await withLeakCheck(() => {
      const labels = tf.tensor3d([0, 1, 2, 3], [1, 2, 2], 'int32');
      assert.throws(() => classMixMasks(labels, () => [0]), ClassMixError, 'wrong count');
      assert.throws(() => classMixMasks(labels, () => [1, 1]), ClassMixError, 'duplicates');
      assert.throws(() => classMixMasks(labels, () => [0, 4]), ClassMixError, 'out of range');
      labels.dispose();
    });
  });

  it('the seeded chooser is reproducible and draws distinct classes', async () => {
    await withLeakCheck(() => {
      const labels = tf.tensor3d(Int32Array.from({ length: 2 * 8 * 8 }, (_, i) => i % 9), [2, 8, 8], 'int32');
      const a = classMixMasks(labels, rngChooser(rngFor(7, 'step', 3, 'classmix')));
      const b = classMixMasks(labels, rngChooser(rngFor(7, 'step', 3, 'classmix')));
      assert.deepEqual(a.chosen, b.chosen);
      for (const c of a.chosen) assert.equal(new Set(c).size, 5);
      assert.deepEqual(Array.from(a.masks.dataSync()), Array.from(b.masks.dataSync()));
      tf.dispose([labels, a.masks, b.masks]);
    });
  });

  it('one_mix takes source pixels where the mask is 1, over every channel; weights are 1 on source', async () => {
    await withLeakCheck(() => {
      tf.tidy(() => {
        const mask = tf.tensor3d([1, 0, 0, 1], [1, 2, 2], 'int32');
        const src = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
        const tgt = tf.tensor4d([-1, -2, -3, -4, -5, -6, -7, -8], [1, 2, 2, 2]);
        assert.deepEqual(Array.from(oneMix(mask, src, tgt).dataSync()), [1, 2, -3, -4, -5, -6, 7, 8]);
        const mixed = classMix(
          mask,
          { img: src, label: tf.tensor3d([5, 5, 5, 5], [1, 2, 2], 'int32') },
          { img: tgt, pseudoLabel: tf.tensor3d([9, 9, 9, 9], [1, 2, 2], 'int32'), pseudoWeight: tf.fill([1, 2, 2], 0.25) as tf.Tensor3D },
        );
        assert.deepEqual(Array.from(mixed.label.dataSync()), [5, 9, 9, 5]);
        assert.deepEqual(Array.from(mixed.weight.dataSync()), [1, 0.25, 0.25, 1]);
        assert.throws(() => oneMix(tf.zeros([1, 2, 3], 'int32') as tf.Tensor3D, src, tgt), ClassMixError);
      });
    });
  });
});
