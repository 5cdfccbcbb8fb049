// MiT structure: parameter counts of the presets (SPEC §3.1), key names/shapes/order
// against the golden manifests, the DropPath schedule, and config parsing/validation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIT_PRESETS, MitConfigError, dropPathSchedule, mitConfigFromMmseg, validateMitConfig } from '../../src/model/mit/mit-config.js';
import { MixVisionTransformer } from '../../src/model/mit/mix-vision-transformer.js';
import { countParams, mitParamCount } from '../../src/model/mit/param-count.js';
import { ParamRegistry } from '../../src/model/params.js';
import { allGoldens } from '../helpers/golden.js';

test('MiT-B5 and B0 have the analytic parameter counts of SPEC §3.1 (no classifier head)', () => {
  assert.equal(mitParamCount(MIT_PRESETS.b5), 81_443_008);
  assert.equal(mitParamCount(MIT_PRESETS.b0), 3_319_392);
});

test('MiT-B5 declares 52 blocks, attention spatial reduction only in stages 1-3, no buffers', () => {
  const reg = new ParamRegistry();
  const model = new MixVisionTransformer(reg.scope('backbone'), MIT_PRESETS.b5);
  assert.deepEqual(model.stageChannels, [64, 128, 320, 512]);
  const names = new Set(reg.specs.map((s) => s.name));
  assert.ok(names.has('backbone.block3.39.mlp.dwconv.dwconv.weight'));
  assert.ok(!names.has('backbone.block3.40.norm1.weight'));
  assert.ok(names.has('backbone.block3.0.attn.sr.weight') && names.has('backbone.block3.0.attn.norm.bias'));
  assert.ok(!names.has('backbone.block4.0.attn.sr.weight') && !names.has('backbone.block4.0.attn.norm.weight'));
  assert.equal(countParams(reg.specs, 'buffer'), 0);
  assert.deepEqual(reg.spec('backbone.block3.0.attn.kv.weight')?.torchShape, [640, 320]);
  assert.deepEqual(reg.spec('backbone.block2.1.mlp.dwconv.dwconv.weight')?.torchShape, [512, 1, 3, 3]);
});

test('declared backbone keys equal the golden segmentor keys: names, order and PyTorch shapes', () => {
  for (const g of allGoldens()) {
    const cfg = mitConfigFromMmseg(g.manifest.config.model.backbone);
    const reg = new ParamRegistry();
    new MixVisionTransformer(reg.scope('backbone'), cfg);
    const expected = Object.entries(g.manifest.sections.weights.segmentor_keys as Record<string, { shape: number[] }>)
      .filter(([k]) => k.startsWith('backbone.'))
      .map(([k, v]) => `${k} [${v.shape}]`);
    const actual = reg.specs.map((s) => `${s.name} [${s.torchShape}]`);
    assert.deepEqual(actual, expected, `${g.name}: backbone keys differ`);
  }
});

test('init kinds follow SPEC §3.4', () => {
  const reg = new ParamRegistry();
  new MixVisionTransformer(reg.scope('backbone'), MIT_PRESETS.b0);
  assert.deepEqual(reg.spec('backbone.block1.0.attn.q.weight')?.init, { kind: 'truncNormal', std: 0.02 });
  assert.deepEqual(reg.spec('backbone.block1.0.attn.q.bias')?.init, { kind: 'zeros' });
  assert.deepEqual(reg.spec('backbone.block1.0.norm1.weight')?.init, { kind: 'ones' });
  assert.deepEqual(reg.spec('backbone.patch_embed1.norm.bias')?.init, { kind: 'zeros' });
  // fan_out = k·k·out/groups
  assert.deepEqual(reg.spec('backbone.patch_embed1.proj.weight')?.init, { kind: 'normal', std: Math.sqrt(2 / (7 * 7 * 32)) });
  assert.deepEqual(reg.spec('backbone.block1.0.attn.sr.weight')?.init, { kind: 'normal', std: Math.sqrt(2 / (8 * 8 * 32)) });
  assert.deepEqual(reg.spec('backbone.block1.0.mlp.dwconv.dwconv.weight')?.init, { kind: 'normal', std: Math.sqrt(2 / 9) });
});

test('DropPath probabilities are torch.linspace(0, rate, Σdepths) split by stage', () => {
  const dpr = dropPathSchedule({ ...MIT_PRESETS.b5 });
  assert.deepEqual(
    dpr.map((s) => s.length),
    [3, 6, 40, 3],
  );
  const flat = dpr.flat();
  assert.equal(flat[0], 0);
  assert.ok(Math.abs(flat[51] - 0.1) < 1e-12);
  assert.ok(Math.abs(flat[10] - (0.1 * 10) / 51) < 1e-12);
  const small = dropPathSchedule({ ...MIT_PRESETS.b0, depths: [1, 1, 1, 1], dropPathRate: 0.3 });
  assert.deepEqual(
    small.map((s) => s.map((p) => Math.round(p * 1e12) / 1e12)),
    [[0], [0.1], [0.2], [0.3]],
  );
  assert.deepEqual(dropPathSchedule({ ...MIT_PRESETS.b0, dropPathRate: 0 }).flat(), new Array(8).fill(0));
});

test('config from the mmseg dict: snake_case keys, scalar mlp ratio, class defaults', () => {
  const cfg = mitConfigFromMmseg({ embed_dims: [32, 64, 160, 256], depths: [2, 2, 2, 2], num_heads: [1, 2, 5, 8], sr_ratios: [8, 4, 2, 1], mlp_ratios: 4 });
  assert.deepEqual(cfg.mlpRatios, [4, 4, 4, 4]);
  assert.equal(cfg.qkvBias, false); // MixVisionTransformer's own default
  assert.equal(cfg.dropPathRate, 0);
  assert.equal(cfg.inChannels, 3);
});

test('invalid configs are rejected with MitConfigError naming the problem', () => {
  assert.throws(() => validateMitConfig({ ...MIT_PRESETS.b0, numHeads: [1, 2, 3, 8] }), (e: Error) => e instanceof MitConfigError && /stage 3.*160.*3 heads/.test(e.message));
  assert.throws(() => validateMitConfig({ ...MIT_PRESETS.b0, depths: [2, 2, 2] }), /depths must list 4 stages/);
  assert.throws(() => validateMitConfig({ ...MIT_PRESETS.b0, srRatios: [8, 4, 0, 1] }), /srRatios must hold positive integers/);
  assert.throws(() => validateMitConfig({ ...MIT_PRESETS.b0, dropPathRate: 1 }), /dropPathRate/);
  assert.throws(() => mitConfigFromMmseg({ embed_dims: 32 }), /backbone.embed_dims must be a list/);
});
