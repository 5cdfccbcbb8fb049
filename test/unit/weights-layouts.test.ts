// Key layouts: UDA wrapper split, 'module.' stripping, layout detection and the
// SegFormer ImageNet (mit_b*.pth) → 'backbone.*' mapping with missing/unexpected keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectLayout, mapMitImagenetKeys, splitUdaStateDict, stripModulePrefix } from '../../src/model/weights/key-layouts.js';
import type { StateDict, TensorRecord } from '../../src/model/weights/tensor-record.js';

const rec = (v: number): TensorRecord => ({ dtype: 'float32', shape: [1], data: new Float32Array([v]) });
const dict = (keys: string[]): StateDict => new Map(keys.map((k, i) => [k, rec(i)]));

test('layouts: UDA split strips model./ema_model./imnet_model. and keeps extras by name', () => {
  const sd = dict([
    'module.model.backbone.a', 'module.model.decode_head.b', 'module.ema_model.backbone.a',
    'module.imnet_model.backbone.a', 'module.project.0.weight', 'module.classifier.bias', 'module.other',
  ]);
  const p = splitUdaStateDict(sd);
  assert.deepEqual([...p.student.keys()], ['backbone.a', 'decode_head.b']);
  assert.deepEqual([...p.teacher.keys()], ['backbone.a']);
  assert.deepEqual([...p.imnet.keys()], ['backbone.a']);
  assert.deepEqual([...p.extra.keys()], ['project.0.weight', 'classifier.bias', 'other']);
  assert.equal(p.student.get('backbone.a'), sd.get('module.model.backbone.a'));
  assert.equal(p.teacher.get('backbone.a'), sd.get('module.ema_model.backbone.a'));
  assert.deepEqual([...stripModulePrefix(dict(['module.x', 'y.module.z'])).keys()], ['x', 'y.module.z']);
});

test('layouts: detection', () => {
  assert.equal(detectLayout(dict(['model.backbone.a', 'ema_model.backbone.a'])), 'uda');
  assert.equal(detectLayout(dict(['module.backbone.a', 'decode_head.b'])), 'segmentor');
  assert.equal(detectLayout(dict(['patch_embed1.proj.weight', 'block1.0.attn.q.weight', 'head.weight'])), 'mit-imagenet');
  assert.equal(detectLayout(dict(['fc.weight'])), 'raw');
});

test('layouts: mit_b* ImageNet keys map onto backbone.*, head.* ignored, missing/unexpected reported', () => {
  const sd = dict(['patch_embed1.proj.weight', 'block1.0.attn.q.weight', 'norm1.weight', 'block9.0.extra', 'head.weight', 'head.bias']);
  const modelKeys = ['backbone.patch_embed1.proj.weight', 'backbone.block1.0.attn.q.weight', 'backbone.norm1.weight', 'backbone.norm4.weight', 'decode_head.conv_seg.weight'];
  const m = mapMitImagenetKeys(sd, modelKeys);
  assert.deepEqual([...m.stateDict.keys()], ['backbone.patch_embed1.proj.weight', 'backbone.block1.0.attn.q.weight', 'backbone.norm1.weight', 'backbone.block9.0.extra']);
  assert.equal(m.stateDict.get('backbone.norm1.weight'), sd.get('norm1.weight'));
  assert.deepEqual(m.missing, ['backbone.norm4.weight']);
  assert.deepEqual(m.unexpected, ['backbone.block9.0.extra']);
  assert.deepEqual(m.ignored, ['head.weight', 'head.bias']);
});
