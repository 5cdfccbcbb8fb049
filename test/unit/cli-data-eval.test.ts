// End to end through the CLI: synth → prepare-data → test (with --show-dir and --out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load.js';
import { ParamRegistry, ParamStore, tfToTorchPerm } from '../../src/model/params.js';
import { Segmentor } from '../../src/model/segmentor.js';
import { segmentorConfigOf } from '../../src/worker/model-options.js';
import { writeSafetensorsFile } from '../../src/model/weights/safetensors-writer.js';
import type { StateDict } from '../../src/model/weights/tensor-record.js';
import { useTestBackend } from '../helpers/backend.js';

const pipa = (args: string[]) => spawnSync(process.execPath, ['bin/pipa.js', ...args], { encoding: 'utf8', timeout: 300_000 });

test('pipa synth + prepare-data + test run end to end on generated data', async () => {
  await useTestBackend();
  const dir = mkdtempSync(join(tmpdir(), 'pipa-e2e-'));
  try {
    const syn = pipa(['synth', join(dir, 'syn'), '--n', '4', '--n-val', '2', '--size', '128x64', '--seed', '3']);
    assert.equal(syn.status, 0, syn.stderr);
    for (const [kind, sub] of [['gta', 'gta'], ['cityscapes', 'cityscapes']]) {
      const p = pipa(['prepare-data', kind, join(dir, 'syn', sub)]);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout, /0 failed/);
    }
    const again = pipa(['prepare-data', 'gta', join(dir, 'syn', 'gta')]);
    assert.match(again.stdout, /0 converted, 4 already done/, 'resumable');
    // A segmentor checkpoint of the tiny config (random weights) in the mmseg key layout.
    const c = loadConfig('configs/synthetic_tiny.yaml').config;
    const reg = new ParamRegistry();
    new Segmentor(reg, segmentorConfigOf(c));
    const store = new ParamStore(reg.specs, 0, false);
    const sd: StateDict = new Map();
    for (const s of reg.specs) {
      const data = tf.tidy(() => {
        const perm = tfToTorchPerm(s.layout);
        return (perm ? tf.transpose(store.get(s.name), perm) : store.get(s.name)).dataSync();
      });
      sd.set(s.name, { dtype: s.dtype === 'int32' ? 'int64' : 'float32', shape: s.torchShape, data: data as Float32Array | Int32Array });
    }
    store.dispose();
    writeSafetensorsFile(join(dir, 'seg.safetensors'), sd);
    const out = join(dir, 'eval');
    const t = pipa(['test', join(dir, 'seg.safetensors'), '-c', 'configs/synthetic_tiny.yaml', '--set', `data.val.root=${join(dir, 'syn', 'cityscapes')}`, '--backend', 'cpu', '--show-dir', join(dir, 'show'), '--out', out]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /mIoU \(19\)\s+\d+\.\d\d/);
    assert.match(t.stdout, /\(2 images/);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    assert.equal(m.images, 2);
    assert.ok(m.mIoU >= 0 && m.mIoU <= 1);
    assert.equal(readdirSync(join(dir, 'show')).filter((f) => f.endsWith('_panel.png')).length, 2);
    const fmt = pipa(['test', join(dir, 'seg.safetensors'), '-c', 'configs/synthetic_tiny.yaml', '--set', `data.val.root=${join(dir, 'syn', 'cityscapes')}`, '--backend', 'cpu', '--format-only', '--out', join(dir, 'ids'), '--limit', '1']);
    assert.equal(fmt.status, 0, fmt.stderr);
    assert.equal(readdirSync(join(dir, 'ids')).filter((f) => f.endsWith('_labelIds.png')).length, 1);
    const missing = pipa(['test', join(dir, 'seg.safetensors'), '-c', 'configs/synthetic_tiny.yaml', '--set', `data.val.root=${join(dir, 'nope')}`, '--backend', 'cpu']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /Data layout/);
    assert.ok(!existsSync(join(dir, 'nope')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
