// Pseudo-labels and their single-scalar quality weight (DACS.forward_train slice) against pw.*
// (three masking variants) and the train step's step.pseudo_label / step.pseudo_fraction.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { pseudoLabels } from '../../src/model/uda/pseudo-label.js';
import { assertSameInts, closeScalar, intsOf, labels3d, nhwcOf, tensorOf } from './self-training-fixtures.js';

before(async () => {
  await useTestBackend();
});

/** The row counts of the ignore_top_bottom variant are only written in its description ("top=3,bottom=4 ..."). */
function topBottom(g: Golden): { ignoreTop: number; ignoreBottom: number } {
  const text: string = g.manifest.sections.pseudo_weight.variants.ignore_top_bottom;
  const top = /top\s*=\s*(\d+)/.exec(text);
  const bottom = /bottom\s*=\s*(\d+)/.exec(text);
  if (!top || !bottom) throw new Error(`${g.dir}: cannot read top/bottom rows from "${text}"`);
  return { ignoreTop: Number(top[1]), ignoreBottom: Number(bottom[1]) };
}

for (const g of allGoldens()) {
  const threshold: number = g.manifest.sections.pseudo_weight.threshold;
  describe(`pseudo-label parity [${g.name}]`, () => {
    it('pw.*: label, prob, fraction and the three weight variants', async () => {
      await withLeakCheck(() => {
        tf.tidy(() => {
          const logits = nhwcOf(g, 'pw.ema_logits');
          const variants = {
            plain: {},
            valid_mask: { validMask: labels3d(g, 'pw.valid_pseudo_mask') },
            ignore_top_bottom: topBottom(g),
          };
          for (const [name, o] of Object.entries(variants)) {
            const r = pseudoLabels(logits, { threshold, ...o });
            if (name === 'plain') {
              assertSameInts('pw.pseudo_label', r.label.dataSync(), intsOf(g, 'pw.pseudo_label'));
              assertClose('pw.pseudo_prob', r.prob, tensorOf(g, 'pw.pseudo_prob'), 1e-5);
            }
            closeScalar(`pw.fraction_confident (${name})`, r.fractionConfident, g.scalar('pw.fraction_confident'), 0);
            assertClose(`pw.${name}.pseudo_weight`, r.weight, tensorOf(g, `pw.${name}.pseudo_weight`), 0);
          }
        });
      });
    });

    it('step.*: pseudo-labels of the train-step teacher logits', async (t) => {
      if (!g.has('step.ema_logits')) return t.skip('no step.* tensors in this set');
      const robust = g.manifest.sections.train_step.robustness ?? {};
      // Pixels within 1e-5 of the threshold may legitimately flip under float32 noise.
      const nearThreshold: number = robust['pseudo_prob_n_within_1e-5_of_0.968'] ?? 0;
      await withLeakCheck(() => {
        tf.tidy(() => {
          const r = pseudoLabels(nhwcOf(g, 'step.ema_logits'), { threshold });
          assertSameInts('step.pseudo_label', r.label.dataSync(), intsOf(g, 'step.pseudo_label'));
          const numel = r.label.size;
          const flipped = Math.round(Math.abs(r.fractionConfident - g.scalar('step.pseudo_fraction')) * numel);
          console.log(`  step.pseudo_fraction: ${r.fractionConfident} vs ${g.scalar('step.pseudo_fraction')} (${flipped} pixels; ${nearThreshold} near the threshold)`);
          assert.ok(flipped <= nearThreshold, `pseudo fraction differs by ${flipped} pixels, more than the ${nearThreshold} near-threshold ones`);
        });
      });
    });
  });
}
