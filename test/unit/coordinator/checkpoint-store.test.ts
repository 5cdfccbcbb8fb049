import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CheckpointStore } from '../../../src/coordinator/checkpoint-store.js';

function withDir(fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-ckpt-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('keeps the last K checkpoints and loads the newest', () =>
  withDir((dir) => {
    const s = new CheckpointStore(dir, 2);
    for (const step of [10, 20, 30]) s.save(step, 'h', Buffer.from(`state-${step}`));
    assert.deepEqual(s.steps(), [30, 20]);
    const l = s.loadLatest('h')!;
    assert.equal(l.meta.step, 30);
    assert.equal(l.data.toString(), 'state-30');
    assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temp files left');
  }));

test('a corrupt newest checkpoint falls back to the previous one with a warning', () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = new CheckpointStore(dir, 3, (msg, f) => warnings.push(`${msg} ${String(f.why)}`));
    s.save(1, 'h', Buffer.from('good'));
    s.save(2, 'h', Buffer.from('newer'));
    writeFileSync(join(dir, 'ckpt-00000002.safetensors'), 'newex'); // same length, other bytes
    const l = s.loadLatest('h')!;
    assert.equal(l.meta.step, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /checksum mismatch/);
  }));

test('a checkpoint of another config is not resumed', () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = new CheckpointStore(dir, 3, (m, f) => warnings.push(String(f.why)));
    s.save(5, 'other', Buffer.from('x'));
    assert.equal(s.loadLatest('mine'), null);
    assert.match(warnings[0], /another config/);
  }));
