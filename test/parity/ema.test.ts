// EMA teacher (DACS._init_ema_weights / _update_ema) replayed over the golden ema.* procedure:
// teacher := student_init, then for each step K: student := stepK.student, update at iters[K],
// compare with stepK.teacher. BN buffers must be left alone.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';
import { ParamStore, torchToTfPerm, type Layout, type ParamSpec } from '../../src/model/params.js';
import { emaAlpha, initEma, updateEma } from '../../src/model/uda/ema-teacher.js';
import { tensorOf } from './self-training-fixtures.js';

before(async () => {
  await useTestBackend();
});

/** Hand-written specs for the fixture's parameter set, shapes from the manifest, plus one BN buffer. */
function specsOf(g: Golden): ParamSpec[] {
  const names: string[] = g.manifest.sections.ema.param_names;
  const specs: ParamSpec[] = names.map((name) => {
    const torchShape = g.manifest.tensors[`ema.student_init.${name}`].shape as number[];
    const layout: Layout = torchShape.length === 0 ? 'scalar' : torchShape.length === 1 ? 'vector' : 'linear';
    return { name, torchShape, layout, kind: 'param', dtype: 'float32', init: { kind: 'zeros' } };
  });
  const bnWeight = specs.find((s) => s.name.endsWith('.weight') && s.torchShape.length === 1);
  if (bnWeight) {
    const prefix = bnWeight.name.slice(0, -'.weight'.length);
    specs.push({ name: `${prefix}.running_mean`, torchShape: bnWeight.torchShape, layout: 'vector', kind: 'buffer', dtype: 'float32', init: { kind: 'normal', std: 1 } });
  }
  return specs;
}

/** Loads ema.<group>.<name> for every param into the store (torch → TF layout). */
function loadGroup(g: Golden, store: ParamStore, group: string): void {
  for (const spec of store.specs) {
    if (spec.kind !== 'param') continue;
    tf.tidy(() => {
      const t = tensorOf(g, `ema.${group}.${spec.name}`);
      const perm = torchToTfPerm(spec.layout);
      store.assign(spec.name, perm ? tf.transpose(t, perm) : t);
    });
  }
}

function compareGroup(g: Golden, store: ParamStore, group: string): number {
  let worst = 0;
  for (const spec of store.specs) {
    if (spec.kind !== 'param') continue;
    tf.tidy(() => {
      const t = tensorOf(g, `ema.${group}.${spec.name}`);
      const perm = torchToTfPerm(spec.layout);
      const d = assertClose(`${group}.${spec.name}`, store.get(spec.name), perm ? tf.transpose(t, perm) : t, 1e-6);
      worst = Math.max(worst, d.maxAbs);
    });
  }
  return worst;
}

for (const g of allGoldens()) {
  const sec = g.manifest.sections.ema;
  describe(`EMA teacher parity [${g.name}]`, () => {
    it('alpha schedule equals the recorded alpha_teacher', () => {
      sec.iters.forEach((it: number, k: number) => assert.equal(emaAlpha(it, sec.alpha), sec.alpha_teacher[k], `alpha at iter ${it}`));
    });

    it('init copies parameters, updates average them, buffers untouched', async () => {
      await withLeakCheck(() => {
        const specs = specsOf(g);
        const teacher = new ParamStore(specs, 1, false);
        const student = new ParamStore(specs, 2, true);
        try {
          loadGroup(g, teacher, 'teacher_before_init');
          loadGroup(g, student, 'student_init');
          const buffers = specs.filter((s) => s.kind === 'buffer').map((s) => [s.name, Array.from(teacher.get(s.name).dataSync())] as const);
          initEma(teacher, student);
          compareGroup(g, teacher, 'teacher_after_init');
          let worst = 0;
          sec.iters.forEach((iter: number, k: number) => {
            loadGroup(g, student, `step${k}.student`);
            const alpha = updateEma(teacher, student, iter, sec.alpha);
            assert.equal(alpha, sec.alpha_teacher[k]);
            worst = Math.max(worst, compareGroup(g, teacher, `step${k}.teacher`));
          });
          console.log(`  worst |Δ| over ${sec.iters.length} steps: ${worst.toExponential(3)}`);
          for (const [name, before] of buffers) assert.deepEqual(Array.from(teacher.get(name).dataSync()), before, `buffer ${name} changed`);
        } finally {
          teacher.dispose();
          student.dispose();
        }
      });
    });
  });
}
