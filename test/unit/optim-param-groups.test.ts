// mmcv 1.3.7 custom_keys param groups for PiPa (SPEC §4.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeParamGroupRule, mmcvKeyOrder, paramGroupFor } from '../../src/model/optim/param-groups.js';

const PLAIN = { lrMult: 1, decayMult: 1 };
const HEAD = { lrMult: 10, decayMult: 1 };
const NO_DECAY = { lrMult: 1, decayMult: 0 };

test('PiPa param groups follow the SPEC statements', () => {
  const cases: Array<[string, { lrMult: number; decayMult: number }]> = [
    // MiT LayerNorms: wd 0
    ['backbone.block1.0.norm1.weight', NO_DECAY],
    ['backbone.block1.0.norm2.bias', NO_DECAY],
    ['backbone.block2.1.attn.norm.weight', NO_DECAY],
    ['backbone.patch_embed1.norm.bias', NO_DECAY],
    ['backbone.norm4.weight', NO_DECAY],
    // everything under a head: lr ×10, decay kept (also its BN, whose name contains no "norm")
    ['decode_head.head.fuse_layer.bottleneck.bn.weight', HEAD],
    ['decode_head.head.conv_seg.weight', HEAD],
    ['decode_head.scale_attention.fuse_layer.conv.weight', HEAD],
    ['cls_head.0.weight', HEAD],
    ['cls_head.1.0.bias', HEAD],
    ['proj_head.proj.1.0.weight', HEAD],
    ['proj_head.proj.2.bias', HEAD],
    // plain: MiT linear/conv weights AND biases, DACS project/classifier
    ['backbone.patch_embed1.proj.bias', PLAIN],
    ['backbone.block1.0.attn.q.weight', PLAIN],
    ['backbone.block3.0.mlp.dwconv.dwconv.weight', PLAIN],
    ['backbone.block1.0.attn.sr.weight', PLAIN],
    ['project.0.weight', PLAIN],
    ['project.2.bias', PLAIN],
    ['classifier.weight', PLAIN],
    ['classifier.bias', PLAIN],
  ];
  for (const [name, expected] of cases) assert.deepEqual(paramGroupFor(name), expected, name);
});

test('a name containing both "head" and "norm" takes the head rule only (first match wins)', () => {
  assert.deepEqual(paramGroupFor('decode_head.some.norm.weight'), HEAD);
  assert.deepEqual(paramGroupFor('model.pos_block.0.proj.weight'), NO_DECAY);
  // pos_block (longest) beats head even when both occur
  assert.deepEqual(paramGroupFor('head.pos_block.weight'), NO_DECAY);
});

test('mmcv key order: longest first, ties alphabetical, whatever the dict order', () => {
  assert.deepEqual(mmcvKeyOrder(['head', 'pos_block', 'norm']), ['pos_block', 'head', 'norm']);
  assert.deepEqual(mmcvKeyOrder(['norm', 'head', 'pos_block']), ['pos_block', 'head', 'norm']);
  // with norm listed first, "head" still decides a name containing both
  const rule = makeParamGroupRule({ norm: { decayMult: 0 }, head: { lrMult: 10 } });
  assert.deepEqual(rule('x_head.norm.weight'), HEAD);
  // a longer key wins over a shorter one regardless of alphabet
  const rule2 = makeParamGroupRule({ a: { lrMult: 2 }, abc: { lrMult: 3 } });
  assert.deepEqual(rule2('xabcx'), { lrMult: 3, decayMult: 1 });
  assert.deepEqual(rule2('xax'), { lrMult: 2, decayMult: 1 });
});
