// DACS strong_transform (after mixing): gates, per-image draws, replay, determinism, leaks.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { drawStrongGates, strongTransform, type StrongAugParams } from '../../src/model/augment/strong-transform.js';
import { colorJitterNormalized } from '../../src/model/augment/color-jitter.js';
import { gaussianBlur } from '../../src/model/augment/gaussian-blur.js';
import { AugmentParamsError } from '../../src/model/augment/errors.js';
import { rngFor } from '../../src/common/random.js';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];
const OPTS = { mean: MEAN, std: STD };

before(async () => {
  await useTestBackend();
});

/** A normalised NHWC batch built from random [0,255] pixels. */
function batch(seed: string, b = 2, h = 24, w = 36): tf.Tensor4D {
  const rng = rngFor(4, seed);
  return tf.tidy(() => {
    const raw = tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, () => rng.random() * 255), [b, h, w, 3]);
    return tf.div(tf.sub(raw, MEAN), STD) as tf.Tensor4D;
  });
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('gates: cj ≤ p and bl ≤ 0.5 leave the images untouched; blur=false disables blur', async () => {
  await withLeakCheck(() => {
    const x = batch('gates');
    const none = strongTransform(x, { cj: 0.2, bl: 0.5 }, undefined, rngFor(0, 'g'), OPTS);
    assert.equal(maxAbsDiff(none.image, x), 0);
    assert.deepEqual(none.params, [
      { jitter: null, blurSigma: null },
      { jitter: null, blurSigma: null },
    ]);
    const noBlur = strongTransform(x, { cj: 0.1, bl: 0.9 }, undefined, rngFor(0, 'g'), { ...OPTS, blur: false });
    assert.equal(maxAbsDiff(noBlur.image, x), 0);
    const onlyBlur = strongTransform(x, { cj: 0.1, bl: 0.51 }, undefined, rngFor(0, 'g'), OPTS);
    assert.ok(onlyBlur.params.every((p) => p.jitter === null && p.blurSigma !== null && p.blurSigma >= 0.15 && p.blurSigma < 1.15));
    assert.notEqual(onlyBlur.params[0].blurSigma, onlyBlur.params[1].blurSigma, 'σ is drawn per image');
    const onlyJitter = strongTransform(x, { cj: 0.21, bl: 0.2 }, undefined, rngFor(0, 'g'), OPTS);
    assert.ok(onlyJitter.params.every((p) => p.jitter !== null && p.blurSigma === null));
    assert.notDeepEqual(onlyJitter.params[0].jitter, onlyJitter.params[1].jitter, 'jitter is drawn per image');
    tf.dispose([x, none.image, noBlur.image, onlyBlur.image, onlyJitter.image]);
  });
});

test('both ops: each image is jittered then blurred with its own parameters', async () => {
  await withLeakCheck(() => {
    const x = batch('both', 3);
    const out = strongTransform(x, { cj: 0.9, bl: 0.9 }, undefined, rngFor(1, 'both'), { ...OPTS, jitterStrength: 0.2, jitterP: 0.2 });
    for (let i = 0; i < 3; i++) {
      const p = out.params[i];
      const want = tf.tidy(() => {
        const xi = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
        return gaussianBlur(colorJitterNormalized(xi, p.jitter!, MEAN, STD) as tf.Tensor4D, p.blurSigma!);
      });
      const got = tf.slice(out.image, [i, 0, 0, 0], [1, -1, -1, -1]);
      assertClose(`image ${i}`, got, want, 0);
      const xi = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
      assert.ok(maxAbsDiff(got, xi) > 1e-2, 'the image changed');
      xi.dispose();
      tf.dispose([want, got]);
    }
    tf.dispose([x, out.image]);
  });
});

test('determinism for a seed, a different seed differs, and a replay of the returned params needs no rng', async () => {
  await withLeakCheck(() => {
    const x = batch('det');
    const gates = drawStrongGates(rngFor(5, 'iter', 7, 'gates'));
    const g = { cj: 0.5, bl: 0.7 }; // force both ops regardless of the drawn gates
    const a = strongTransform(x, g, undefined, rngFor(5, 'iter', 7, 'strong'), OPTS);
    const b = strongTransform(x, g, undefined, rngFor(5, 'iter', 7, 'strong'), OPTS);
    const c = strongTransform(x, g, undefined, rngFor(6, 'iter', 7, 'strong'), OPTS);
    assert.deepEqual(a.params, b.params);
    assert.equal(maxAbsDiff(a.image, b.image), 0);
    assert.notDeepEqual(a.params, c.params);
    const replayParams: StrongAugParams[] = JSON.parse(JSON.stringify(a.params));
    const r = strongTransform(x, g, replayParams, undefined, OPTS);
    assert.equal(maxAbsDiff(a.image, r.image), 0);
    assert.deepEqual(r.params, a.params);
    // gates come from the rng in a fixed order (cj then bl); blur off → bl = 0
    assert.deepEqual(drawStrongGates(rngFor(5, 'iter', 7, 'gates')), gates);
    assert.equal(drawStrongGates(rngFor(5, 'x'), false).bl, 0);
    tf.dispose([x, a.image, b.image, c.image, r.image]);
  });
});

test('bad replays and missing randomness are rejected', async () => {
  await withLeakCheck(() => {
    const x = batch('bad');
    const g = { cj: 0.9, bl: 0.9 };
    assert.throws(() => strongTransform(x, g, undefined, undefined, OPTS), AugmentParamsError);
    assert.throws(() => strongTransform(x, g, [{ jitter: null, blurSigma: 0.5 }], undefined, OPTS), AugmentParamsError);
    assert.throws(
      () =>
        strongTransform(
          x,
          g,
          [
            { jitter: null, blurSigma: 0.5 },
            { jitter: null, blurSigma: 0.5 },
          ],
          undefined,
          OPTS,
        ),
      AugmentParamsError,
    );
    const gray = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    assert.throws(() => strongTransform(gray, g, undefined, rngFor(0, 'z'), OPTS), AugmentParamsError);
    tf.dispose([x, gray]);
  });
});
