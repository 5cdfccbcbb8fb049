// Parity of the decode side from the STORED backbone features of each golden set:
// DAFormer head (sep-ASPP), scale attention, and HRDAHead.forward without a crop box.
import { test, before } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { fixtureNhwc, loadFromManifest } from '../helpers/model-from-manifest.js';
import { EVAL_MODE } from '../../src/model/layers/forward-mode.js';

const LOGIT_ATOL = 1e-3;
const PROB_ATOL = 1e-4;

before(async () => {
  await useTestBackend();
});

const stages = (g: Golden, prefix: string): tf.Tensor4D[] => [1, 2, 3, 4].map((i) => fixtureNhwc(g, `${prefix}.stage${i}`));

for (const g of allGoldens()) {
  test(`[${g.name}] DAFormer head, scale attention and HRDA fusion from stored features`, async () => {
    await withLeakCheck(() => {
      const { segmentor, store } = loadFromManifest(g);
      const head = segmentor.decodeHead;
      try {
        tf.tidy(() => {
          const hr = stages(g, 'fwd.backbone');
          const lr = stages(g, 'fwd.lr_backbone');
          assertClose('daformer_head.logits', head.head.forward(store, hr, EVAL_MODE), fixtureNhwc(g, 'fwd.daformer_head.logits'), LOGIT_ATOL);
          assertClose('lr_daformer_head.logits', head.head.forward(store, lr, EVAL_MODE), fixtureNhwc(g, 'fwd.lr_daformer_head.logits'), LOGIT_ATOL);
          assertClose('hrda.scale_attention', head.attention(store, lr, EVAL_MODE), fixtureNhwc(g, 'fwd.hrda.scale_attention'), PROB_ATOL);
          const out = head.forward(store, lr, { feats: hr }, null, EVAL_MODE);
          assertClose('hrda.fused_seg', out.fused, fixtureNhwc(g, 'fwd.hrda.fused_seg'), LOGIT_ATOL);
          assertClose('hrda.lr_seg_times_1_minus_att', out.lrSegTimes1MinusAtt, fixtureNhwc(g, 'fwd.hrda.lr_seg_times_1_minus_att'), LOGIT_ATOL);
          assertClose('hrda.hr_seg', out.hrSeg, fixtureNhwc(g, 'fwd.hrda.hr_seg'), LOGIT_ATOL);
        });
      } finally {
        store.dispose();
      }
    });
  });
}
