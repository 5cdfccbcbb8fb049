// Weight I/O against every golden set: the torch-written .pth files and the safetensors
// files agree tensor for tensor, the UDA checkpoint splits as the manifest describes
// (shared storages included), conversions round-trip, and damaged copies are rejected.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readCheckpoint, readPth, readPthFile } from '../../src/model/weights/pth.js';
import { readSafetensorsFile } from '../../src/model/weights/safetensors.js';
import { writeSafetensorsFile } from '../../src/model/weights/safetensors-writer.js';
import { convertWeights } from '../../src/model/weights/convert.js';
import { detectLayout, splitUdaStateDict } from '../../src/model/weights/key-layouts.js';
import { loadStateDictIntoStore } from '../../src/model/weights/load-into-store.js';
import { CheckpointError, type StateDict, type TensorRecord } from '../../src/model/weights/tensor-record.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { allGoldens, withLeakCheck } from '../helpers/golden.js';
import { useTestBackend } from '../helpers/backend.js';

const tmp = mkdtempSync(join(tmpdir(), 'pipa-weights-parity-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function bytesOf(r: TensorRecord): Buffer {
  return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

/** Same names in the same order, same dtype/shape, bit-identical values. */
function assertIdentical(label: string, actual: StateDict, expected: StateDict, sameOrder = true): void {
  if (sameOrder) assert.deepEqual([...actual.keys()], [...expected.keys()], `${label}: key order`);
  else assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${label}: key set`);
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    assert.equal(a.dtype, e.dtype, `${label}: ${k} dtype`);
    assert.deepEqual(a.shape, e.shape, `${label}: ${k} shape`);
    assert.ok(bytesOf(a).equals(bytesOf(e)), `${label}: ${k} values differ`);
  }
  console.log(`  ${label}: ${expected.size} tensors bit-identical`);
}

function expectCheckpointError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), `message names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

for (const g of allGoldens()) {
  const w = g.manifest.sections.weights;

  test(`[${g.name}] weights: fixture files match their manifest sha256`, () => {
    for (const key of ['segmentor_pth', 'segmentor_safetensors', 'uda_pth', 'uda_extra_safetensors'] as const) {
      const path = g.weight(key);
      const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
      assert.equal(sha, w.sha256[basename(path)], path);
    }
  });

  test(`[${g.name}] weights: segmentor.pth == segmentor.safetensors == manifest key list`, () => {
    const pth = readPthFile(g.weight('segmentor_pth'));
    const st = readCheckpoint(g.weight('segmentor_safetensors'));
    assertIdentical('segmentor.pth vs .safetensors', pth, st);
    const keys = w.segmentor_keys as Record<string, { shape: number[]; dtype: string }>;
    assert.equal(pth.size, w.segmentor_num_tensors);
    assert.deepEqual([...pth.keys()].sort(), Object.keys(keys).sort());
    for (const [k, spec] of Object.entries(keys)) {
      assert.deepEqual(pth.get(k)!.shape, spec.shape, k);
      assert.equal(pth.get(k)!.dtype, spec.dtype, k);
    }
    assert.equal(detectLayout(pth), 'segmentor');
  });

  test(`[${g.name}] weights: uda_dacs.pth layout, shared storages and uda_extra entries`, () => {
    const uda = readPth(g.weight('uda_pth'));
    const sd = uda.stateDict;
    assert.equal(sd.size, w.uda_num_tensors);
    assert.deepEqual([...new Set([...sd.keys()].map((k) => k.split('.')[0]))].sort(), [...w.uda_key_prefixes].sort());
    assert.equal(detectLayout(sd), 'uda');

    const seg = readPthFile(g.weight('segmentor_pth'));
    const parts = splitUdaStateDict(sd);
    assertIdentical('uda model.* vs segmentor', parts.student, seg);
    assert.deepEqual([...parts.teacher.keys()].sort(), [...seg.keys()].sort());
    assert.deepEqual([...parts.imnet.keys()].sort(), [...seg.keys()].sort());
    for (const k of parts.extra.keys()) assert.ok(k.startsWith('project.') || k.startsWith('classifier.'), k);

    const extra = readSafetensorsFile(g.weight('uda_extra_safetensors'));
    const fromUda: StateDict = new Map([...extra.keys()].map((k) => [k, sd.get(k)!]));
    for (const k of extra.keys()) assert.ok(sd.has(k), `uda_extra key ${k} missing from uda_dacs.pth`);
    assertIdentical('uda_extra.safetensors vs uda_dacs.pth', fromUda, extra);

    // Every ema_model./imnet_model. entry not listed in uda_extra equals model.* and, in
    // the file, is a second reference to the student's storage.
    let shared = 0;
    for (const k of sd.keys()) {
      const m = /^(ema_model|imnet_model)\.(.*)$/.exec(k);
      if (!m || extra.has(k)) continue;
      const student = `model.${m[2]}`;
      assert.ok(bytesOf(sd.get(k)!).equals(bytesOf(sd.get(student)!)), `${k} != ${student}`);
      assert.equal(uda.storageOf.get(k), uda.storageOf.get(student), `${k} shares ${student}'s storage`);
      shared++;
    }
    const storages = new Set(uda.storageOf.values()).size;
    console.log(`  ${sd.size} tensors in ${storages} storages; ${shared} entries share the student's storage`);
    assert.ok(shared > 0 && storages < sd.size, 'the fixture exercises shared storages');
  });

  test(`[${g.name}] weights: pth → safetensors writer → reader and convertWeights round-trip`, () => {
    for (const key of ['segmentor_pth', 'uda_pth'] as const) {
      const src = g.weight(key);
      const original = readPthFile(src);
      const out = join(tmp, `${g.name}-${basename(src)}.safetensors`);
      writeSafetensorsFile(out, original);
      assertIdentical(`${basename(src)} written + read`, readSafetensorsFile(out), original, false);
      const conv = join(tmp, `${g.name}-${basename(src)}.converted.safetensors`);
      const res = convertWeights(src, conv);
      assert.equal(res.tensors, original.size);
      assert.equal(res.layout, key === 'uda_pth' ? 'uda' : 'segmentor');
      assert.equal(res.bytes, readFileSync(conv).length);
      assertIdentical(`convertWeights(${basename(src)})`, readCheckpoint(conv), original, false);
    }
    const st = g.weight('segmentor_safetensors');
    const conv = join(tmp, `${g.name}-st.converted.safetensors`);
    convertWeights(st, conv);
    assertIdentical('convertWeights(segmentor.safetensors)', readCheckpoint(conv), readCheckpoint(st), false);
  });

  test(`[${g.name}] weights: damaged copies are rejected with the file named`, () => {
    const pth = readFileSync(g.weight('segmentor_pth'));
    for (const cut of [pth.length - 1, pth.length - 200, Math.floor(pth.length / 2), 100]) {
      const p = join(tmp, `${g.name}-cut${cut}.pth`);
      writeFileSync(p, pth.subarray(0, cut));
      expectCheckpointError(() => readCheckpoint(p), p, /truncated/);
    }
    const st = readFileSync(g.weight('segmentor_safetensors'));
    const headerEnd = 8 + Number(st.readBigUInt64LE(0));
    for (const cut of [st.length - 1, headerEnd + 10, headerEnd - 10]) {
      const p = join(tmp, `${g.name}-cut${cut}.safetensors`);
      writeFileSync(p, st.subarray(0, cut));
      expectCheckpointError(() => readCheckpoint(p), p, /truncated/);
    }
    const flipped = Buffer.from(pth);
    const dataPkl = flipped.indexOf('data.pkl');
    flipped[dataPkl + 200] ^= 0x5a; // inside the pickle record
    const fp = join(tmp, `${g.name}-flipped.pth`);
    writeFileSync(fp, flipped);
    expectCheckpointError(() => readCheckpoint(fp), fp, /CRC-32 mismatch/);
  });

  test(`[${g.name}] weights: loading into a store validates every key before assigning`, async () => {
    await useTestBackend();
    await withLeakCheck(() => {
      const keys = w.segmentor_keys as Record<string, { shape: number[]; dtype: string }>;
      const reg = new ParamRegistry();
      for (const [k, spec] of Object.entries(keys)) {
        if (spec.dtype === 'int64') reg.scope('').buffer(k, spec.shape, { kind: 'zeros' }, 'int32');
        else reg.scope('').param(k, spec.shape, 'vector', { kind: 'zeros' }); // identity layout: values compare 1:1
      }
      const store = new ParamStore(reg.specs);
      const sd = readCheckpoint(g.weight('segmentor_pth'));
      // Corrupt the shape of the last key (in store order) so that all others would load.
      const victim = reg.specs[reg.specs.length - 1].name;
      const good = sd.get(victim)!;
      const badShape = [...good.shape, 1];
      sd.set(victim, { ...good, shape: badShape });
      assert.throws(
        () => loadStateDictIntoStore(store, sd, { file: 'segmentor.pth' }),
        (e: unknown) => e instanceof CheckpointError && e.message.includes(`key '${victim}' has shape [${badShape}] in the checkpoint but [${good.shape}] in the model`),
      );
      for (const s of reg.specs) assert.ok(store.get(s.name).dataSync().every((v) => v === 0), `${s.name} untouched`);
      sd.set(victim, good);
      const r = loadStateDictIntoStore(store, sd);
      assert.equal(r.loaded.length, sd.size);
      const first = reg.specs[0].name;
      assert.deepEqual([...store.get(first).dataSync()], [...sd.get(first)!.data]);
      store.dispose();
    });
  });
}
