// EMA teacher: α schedule from SPEC §1.3, parameters-only semantics, layout checks.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { EmaLayoutError, emaAlpha, initEma, updateEma } from '../../src/model/uda/ema-teacher.js';

before(async () => {
  await useTestBackend();
});

function registry(withExtra = false): ParamRegistry {
  const r = new ParamRegistry();
  const s = r.scope('m');
  s.param('conv.weight', [4, 2, 3, 3], 'conv', { kind: 'normal', std: 1 });
  s.param('bn.weight', [4], 'vector', { kind: 'normal', std: 1, mean: 1 });
  s.buffer('bn.running_mean', [4], { kind: 'normal', std: 1 });
  s.buffer('bn.num_batches_tracked', [], { kind: 'zeros' }, 'int32');
  if (withExtra) s.param('extra', [2], 'vector', { kind: 'zeros' });
  return r;
}

describe('EMA teacher', () => {
  it('α_t = min(1 − 1/(t+1), 0.999): SPEC values', () => {
    assert.equal(emaAlpha(1), 0.5);
    assert.ok(Math.abs(emaAlpha(2) - 0.6667) < 1e-4);
    assert.ok(Math.abs(emaAlpha(10) - 0.9091) < 1e-4);
    assert.ok(Math.abs(emaAlpha(100) - 0.9901) < 1e-4);
    assert.equal(emaAlpha(999), 0.999);
    assert.equal(emaAlpha(60000), 0.999);
    assert.throws(() => emaAlpha(0), RangeError);
  });

  it('init copies parameters only; update averages parameters and leaves buffers', async () => {
    await withLeakCheck(() => {
      const specs = registry().specs;
      const student = new ParamStore(specs, 1, true);
      const teacher = new ParamStore(specs, 2, false);
      try {
        const bufBefore = teacher.get('m.bn.running_mean').dataSync().slice();
        initEma(teacher, student);
        assert.deepEqual(teacher.get('m.conv.weight').dataSync(), student.get('m.conv.weight').dataSync());
        assert.deepEqual(teacher.get('m.bn.running_mean').dataSync(), bufBefore, 'buffers are not copied by default');
        assert.equal(teacher.get('m.conv.weight').trainable, false, 'teacher stays non-trainable');

        const t0 = teacher.get('m.bn.weight').dataSync().slice();
        tf.tidy(() => student.assign('m.bn.weight', tf.add(student.get('m.bn.weight'), 1)));
        const s1 = student.get('m.bn.weight').dataSync().slice();
        const alpha = updateEma(teacher, student, 3);
        const got = teacher.get('m.bn.weight').dataSync();
        t0.forEach((v, i) => assert.equal(got[i], Math.fround(Math.fround(Math.fround(alpha) * v) + Math.fround(Math.fround(1 - alpha) * s1[i]))));
        assert.deepEqual(teacher.get('m.bn.running_mean').dataSync(), bufBefore);

        initEma(teacher, student, { copyBuffers: true });
        assert.deepEqual(teacher.get('m.bn.running_mean').dataSync(), student.get('m.bn.running_mean').dataSync());
      } finally {
        student.dispose();
        teacher.dispose();
      }
    });
  });

  it('refuses stores built from different specs', async () => {
    await withLeakCheck(() => {
      const a = new ParamStore(registry().specs, 1);
      const b = new ParamStore(registry(true).specs, 1);
      try {
        assert.throws(() => initEma(a, b), EmaLayoutError);
        assert.throws(() => updateEma(a, b, 5), EmaLayoutError);
      } finally {
        a.dispose();
        b.dispose();
      }
    });
  });
});
