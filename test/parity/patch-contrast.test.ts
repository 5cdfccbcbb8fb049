// Patch-wise contrast, code-exact (SPEC §1.8: the CAC block of DACS.forward_train)
// replayed over the stored steps with one persistent feature bank, against every stored
// intermediate; then the gradient reaches `project` and nothing else.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';
import { readNpy, type NpyArray } from '../helpers/npy.js';
import { useTestBackend } from '../helpers/backend.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { readSafetensorsFile } from '../../src/model/weights/safetensors.js';
import { loadStateDictIntoStore } from '../../src/model/weights/load-into-store.js';
import { FeatureBank } from '../../src/model/losses/feature-bank.js';
import {
  PATCH_CONTRAST_CODE_EXACT,
  declarePatchHeads,
  overlapRows,
  patchContrastLoss,
  patchContrastViews,
  preparePatchContrast,
  projectPatch,
  type PatchBoxes,
  type PatchContrastOptions,
} from '../../src/model/losses/patch-contrast.js';

before(async () => {
  await useTestBackend();
});

/** Workaround until Golden.npy() stops joining 'tensors/' twice (see the mit parity test). */
function npy(g: Golden, name: string): NpyArray {
  const file: string | undefined = g.manifest.tensors[name]?.file;
  if (!file) throw new Error(`${g.dir}: tensor '${name}' not in manifest`);
  const direct = join(g.dir, file);
  return readNpy(existsSync(direct) ? direct : join(g.dir, 'tensors', file));
}
const floats = (g: Golden, name: string) => tf.tensor(Float32Array.from(npy(g, name).data as ArrayLike<number>), npy(g, name).shape);
const ints = (g: Golden, name: string) => Int32Array.from(npy(g, name).data as ArrayLike<number>);
const nhwc = (g: Golden, name: string) => tf.tidy(() => tf.transpose(floats(g, name), [0, 2, 3, 1]) as tf.Tensor4D);

function optionsOf(g: Golden): PatchContrastOptions {
  const h = g.manifest.sections.patch_contrast.hyper;
  return {
    ...PATCH_CONTRAST_CODE_EXACT,
    temperature: h.temp,
    threshold: h.pos_thresh_value,
    weight: h.weight_unsup,
    selectedNum: h.selected_num,
    stepSave: h.step_save,
    chunk: h.chunk_b,
    eps: h.eps,
  };
}

/**
 * Boxes and flips as stored in sections.patch_contrast. The public set stores them per
 * batch element ([y, x] and [flip1, flip2]); the original code indexes them collated
 * (ul1[0][b] = y, flip[0][b] = view 1). With a batch of 2 both readings have the same
 * shape, so the stored step-0 overlap confidences decide, preferring per element.
 */
function boxesOf(g: Golden): PatchBoxes {
  const s = g.manifest.sections.patch_contrast;
  const B: number = g.manifest.tensors[`${stepsOf(g)[0]}.fuse_xul1`].shape[0];
  const perElement = (a: number[][]) => a.map((v) => [v[0], v[1]] as const);
  const collated = (a: number[][]) => a[0].map((_, b) => [a[0][b], a[1][b]] as const);
  const fits = (a: unknown[][], outer: number, inner: number) => a.length === outer && a.every((v) => v.length === inner);
  const readings: Array<{ name: string; read: (a: any[][]) => any[] }> = [];
  if (fits(s.boxes.ul1, B, 2)) readings.push({ name: 'per element', read: perElement });
  if (fits(s.boxes.ul1, 2, B)) readings.push({ name: 'collated', read: collated });
  const candidates: PatchBoxes[] = [];
  for (const boxes of readings) {
    for (const flips of readings) {
      const f = flips.read(s.flips);
      candidates.push({
        ul1: boxes.read(s.boxes.ul1),
        br1: boxes.read(s.boxes.br1),
        ul2: boxes.read(s.boxes.ul2),
        br2: boxes.read(s.boxes.br2),
        flip1: f.map((v: readonly [boolean, boolean]) => v[0]),
        flip2: f.map((v: readonly [boolean, boolean]) => v[1]),
      });
    }
  }
  if (candidates.length === 0) throw new Error(`${g.dir}: patch_contrast boxes have an unexpected shape for batch ${B}`);
  if (candidates.length === 1) return candidates[0];
  // the stored overlap confidences of step 0 under each reading (pooled map = fused map / 2)
  const k = stepsOf(g)[0];
  const [, , H, W] = g.manifest.tensors[`${k}.fuse_xul1`].shape;
  const conf1 = npy(g, `${k}.pseudo_logits_1`).data as Float32Array;
  const want1 = npy(g, `${k}.pseudo_logits1_overlap`).data as Float32Array;
  const conf2 = npy(g, `${k}.pseudo_logits_2`).data as Float32Array;
  const want2 = npy(g, `${k}.pseudo_logits2_overlap`).data as Float32Array;
  const matches = (c: PatchBoxes) => {
    const r1 = overlapRows(c.ul1, c.br1, c.flip1, Math.floor(H / 2), Math.floor(W / 2), PATCH_CONTRAST_CODE_EXACT.indexScale);
    const r2 = overlapRows(c.ul2, c.br2, c.flip2, Math.floor(H / 2), Math.floor(W / 2), PATCH_CONTRAST_CODE_EXACT.indexScale);
    return r1.length === want1.length && r2.length === want2.length && r1.every((r, i) => conf1[r] === want1[i]) && r2.every((r, i) => conf2[r] === want2[i]);
  };
  const chosen = candidates.find(matches);
  if (!chosen) throw new Error(`${g.dir}: no reading of the stored boxes/flips reproduces ${k}.pseudo_logits*_overlap`);
  if (chosen !== candidates[0]) console.log('  note: boxes/flips read in the collated layout');
  return chosen;
}

function stepsOf(g: Golden): string[] {
  const steps = new Set(g.names('cac.step').map((n) => n.split('.').slice(0, 2).join('.')));
  return [...steps].sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
}

function patchStore(g: Golden): ParamStore {
  const reg = new ParamRegistry();
  const classes = g.manifest.tensors[`${stepsOf(g)[0]}.fuse_xul1`].shape[1];
  declarePatchHeads(reg.scope(''), classes, g.manifest.sections.patch_contrast.hyper.proj_final_dim);
  const store = new ParamStore(reg.specs);
  const report = loadStateDictIntoStore(store, readSafetensorsFile(g.weight('uda_extra_safetensors')), { strict: true });
  assert.equal(report.loaded.length, 6);
  return store;
}

function exactInts(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let bad = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) bad++;
  console.log(`  ${label}: ${bad} of ${actual.length} differ`);
  assert.equal(bad, 0, `${label}: ${bad} entries differ`);
}

const close = (label: string, actual: ArrayLike<number> | tf.Tensor, g: Golden, name: string, atol: number, rtol = 0) =>
  tf.tidy(() => {
    const want = tf.reshape(floats(g, name), [-1]);
    const got = actual instanceof tf.Tensor ? tf.reshape(actual, [-1]) : tf.tensor1d(Float32Array.from(actual));
    assertClose(label, got, want, atol, rtol);
  });

for (const g of allGoldens()) {
  if (!g.manifest.sections.patch_contrast) continue;

  test(`[${g.name}] cac: replay every stored step with a persistent bank`, async () => {
    const o = optionsOf(g);
    const boxes = boxesOf(g);
    const store = patchStore(g);
    const bank = new FeatureBank(o.stepSave + 1);
    await withLeakCheck(() => {
      for (const k of stepsOf(g)) {
        console.log(` ${k}`);
        const fused1 = nhwc(g, `${k}.fuse_xul1`);
        const fused2 = nhwc(g, `${k}.fuse_xul2`);
        const selection = { idx1: ints(g, `${k}.selected_idx1`), idx2: ints(g, `${k}.selected_idx2`) };
        const step = preparePatchContrast(store, fused1, fused2, boxes, selection, bank, o);

        // pseudo labels and confidences of the frozen classifier, full maps and overlaps
        exactInts(`${k}.pseudo_label1`, step.pseudo1.label, ints(g, `${k}.pseudo_label1`));
        exactInts(`${k}.pseudo_label2`, step.pseudo2.label, ints(g, `${k}.pseudo_label2`));
        close(`${k}.pseudo_logits_1`, step.pseudo1.conf, g, `${k}.pseudo_logits_1`, 1e-5);
        close(`${k}.pseudo_logits_2`, step.pseudo2.conf, g, `${k}.pseudo_logits_2`, 1e-5);
        const at = <T extends Int32Array | Float32Array>(a: T, idx: Int32Array) => Array.from(idx, (i) => a[i]);
        exactInts(`${k}.pseudo_label1_overlap`, at(step.pseudo1.label, step.overlap1), ints(g, `${k}.pseudo_label1_overlap`));
        exactInts(`${k}.pseudo_label2_overlap`, at(step.pseudo2.label, step.overlap2), ints(g, `${k}.pseudo_label2_overlap`));
        close(`${k}.pseudo_logits1_overlap`, at(step.pseudo1.conf, step.overlap1), g, `${k}.pseudo_logits1_overlap`, 1e-5);
        close(`${k}.pseudo_logits2_overlap`, at(step.pseudo2.conf, step.overlap2), g, `${k}.pseudo_logits2_overlap`, 1e-5);

        // the bank after this step's push
        assert.equal(step.negatives.labels.length, g.scalar(`${k}.bank_rows`), 'bank_rows');
        exactInts(`${k}.pseudo_label_all`, step.negatives.labels, ints(g, `${k}.pseudo_label_all`));

        // projected maps where stored
        for (const v of [1, 2] as const) {
          if (!g.has(`${k}.output_ul${v}`)) continue;
          tf.tidy(() => {
            const z = projectPatch(store, v === 1 ? step.pooled1 : step.pooled2);
            assertClose(`${k}.output_ul${v}`, z, nhwc(g, `${k}.output_ul${v}`), 1e-5, 1e-4);
          });
        }

        // both views and the total
        const views = patchContrastViews(store, step, o);
        for (const [v, r] of [[1, views.view1], [2, views.view2]] as const) {
          close(`${k}.pos${v}`, r.pos, g, `${k}.pos${v}`, 1e-5, 1e-5);
          close(`${k}.neg_max${v}`, r.shift, g, `${k}.neg_max${v}`, 1e-5, 1e-5);
          close(`${k}.logits${v}_down`, r.denominator, g, `${k}.logits${v}_down`, 0, 1e-5);
          exactInts(`${k}.pos_mask_${v}`, r.direction, npy(g, `${k}.pos_mask_${v}`).data as Float32Array);
          tf.tidy(() => {
            assertClose(`${k}.loss${v}`, r.loss, tf.scalar(g.scalar(`${k}.loss${v}`)), 0, 1e-5);
          });
        }
        const losses = patchContrastLoss(store, step, o);
        const want = tf.scalar(g.scalar(`${k}.loss_unsup`));
        assertClose(`${k}.loss_unsup`, losses.loss, want, 0, 1e-5);
        tf.dispose([fused1, fused2, want, losses.loss, losses.loss1, losses.loss2]);
        for (const r of [views.view1, views.view2]) tf.dispose([r.loss, r.pos, r.shift, r.denominator]);
        step.dispose();
      }
      bank.dispose();
    });
    store.dispose();
  });

  test(`[${g.name}] cac: gradient reaches project only, finite`, async () => {
    const o = optionsOf(g);
    const store = patchStore(g);
    const bank = new FeatureBank(o.stepSave + 1);
    await withLeakCheck(() => {
      const k = stepsOf(g)[0];
      const fused1 = nhwc(g, `${k}.fuse_xul1`);
      const fused2 = nhwc(g, `${k}.fuse_xul2`);
      const selection = { idx1: ints(g, `${k}.selected_idx1`), idx2: ints(g, `${k}.selected_idx2`) };
      const step = preparePatchContrast(store, fused1, fused2, boxesOf(g), selection, bank, o);
      const vars = store.trainable().map(([, v]) => v);
      const { value, grads } = tf.variableGrads(() => patchContrastLoss(store, step, o).loss, vars);
      const byName = new Map(store.trainable().map(([n, v]) => [v.name, n]));
      const got = Object.keys(grads).map((id) => byName.get(id)!).sort();
      assert.deepEqual(got, ['project.0.bias', 'project.0.weight', 'project.2.bias', 'project.2.weight']);
      for (const [id, gt] of Object.entries(grads)) {
        const d = gt.dataSync();
        assert.ok(d.every(Number.isFinite), `${byName.get(id)} gradient finite`);
        assert.ok(d.some((x) => x !== 0), `${byName.get(id)} gradient non-zero`);
      }
      console.log(`  loss ${value.dataSync()[0]}; gradients for ${got.join(', ')}`);
      tf.dispose([fused1, fused2, value, ...Object.values(grads)]);
      step.dispose();
      bank.dispose();
    });
    store.dispose();
  });
}
