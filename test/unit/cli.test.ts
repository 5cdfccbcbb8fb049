import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { ConfigError, applyOverride, canonicalJson, loadConfig } from '../../src/config/load.js';

const configFiles = readdirSync('configs').filter((f) => f.endsWith('.yaml'));

test('every shipped config validates and hashes deterministically', () => {
  assert.ok(configFiles.length >= 4, 'expected the published configs');
  for (const f of configFiles) {
    const a = loadConfig(join('configs', f));
    const b = loadConfig(join('configs', f));
    assert.equal(a.hash, b.hash, f);
    assert.match(a.hash, /^[0-9a-f]{64}$/);
  }
});

test('published GTA config carries the SPEC values', () => {
  const { config: c } = loadConfig('configs/gta2cs_hrda_pipa.yaml');
  assert.equal(c.optimizer.lr, 6e-5);
  assert.equal(c.schedule.maxIters, 60000);
  assert.deepEqual(c.model.hrda.hrCropSize, [512, 512]);
  assert.deepEqual(c.uda.cropPseudoMargins, [30, 240, 30, 30]);
  assert.equal(c.uda.pseudoThreshold, 0.968);
  assert.equal(c.pipa.patch.startIter, 10000);
  assert.equal(c.pipa.pixel.mode, 'fixed');
  assert.equal(c.pipa.patch.mode, 'intent');
  const r = loadConfig('configs/gta2cs_hrda_pipa_reproduce.yaml').config;
  assert.equal(r.pipa.pixel.mode, 'code-exact');
  assert.equal(r.pipa.patch.mode, 'code-exact');
  const s = loadConfig('configs/syn2cs_hrda_pipa.yaml').config;
  assert.deepEqual(s.data.source.resize, [2560, 1520]);
  assert.equal(s.data.source.type, 'synthia');
});

test('--set overrides parse YAML values and change the hash', () => {
  const base = loadConfig('configs/gta2cs_hrda_pipa.yaml');
  const o = loadConfig('configs/gta2cs_hrda_pipa.yaml', ['train.globalBatch=8', 'model.hrda.hrCropSize=[256, 256]']);
  assert.equal(o.config.train.globalBatch, 8);
  assert.deepEqual(o.config.model.hrda.hrCropSize, [256, 256]);
  assert.notEqual(o.hash, base.hash);
  assert.throws(() => applyOverride({}, 'novalue'), ConfigError);
});

test('bad configs name the field and the allowed values', () => {
  assert.throws(
    () => loadConfig('configs/gta2cs_hrda_pipa.yaml', ['pipa.pixel.mode=bogus']),
    (e: Error) => e instanceof ConfigError && /pipa\.pixel\.mode: must be one of "fixed", "code-exact"/.test(e.message),
  );
  assert.throws(
    () => loadConfig('configs/gta2cs_hrda_pipa.yaml', ['model.hrda.hrCropSiz=1']),
    (e: Error) => /model\.hrda: unknown field\(s\) 'hrCropSiz'/.test(e.message),
  );
  assert.throws(
    () => loadConfig('configs/gta2cs_hrda_pipa.yaml', ['model.hrda.hrCropSize=[500, 512]']),
    (e: Error) => /divisible by model\.hrda\.cropCoordDivisible/.test(e.message),
  );
  assert.throws(() => loadConfig('configs/does-not-exist.yaml'), /config file not found/);
  const dir = mkdtempSync(join(tmpdir(), 'pipa-cfg-'));
  try {
    writeFileSync(join(dir, 'a.yaml'), 'extends: b.yaml\nname: a\n');
    writeFileSync(join(dir, 'b.yaml'), 'extends: a.yaml\n');
    assert.throws(() => loadConfig(join(dir, 'a.yaml')), /'extends' cycle/);
    writeFileSync(join(dir, 'c.yaml'), 'name: [unclosed\n');
    assert.throws(() => loadConfig(join(dir, 'c.yaml')), /not valid YAML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('canonical JSON ignores key order', () => {
  assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] }), canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }));
});

test('pipa print-config runs and exits 2 on bad input', () => {
  const ok = spawnSync(process.execPath, ['bin/pipa.js', 'print-config', '-c', 'configs/gta2cs_hrda_pipa.yaml', '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).name, 'gtaHR2csHR_hrda_pipa');
  const bad = spawnSync(process.execPath, ['bin/pipa.js', 'print-config', '-c', 'configs/gta2cs_hrda_pipa.yaml', '--set', 'seed=-1'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /seed:/);
});

test('pipa convert-weights converts the fixture .pth and rejects a non-checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-cw-'));
  try {
    const out = join(dir, 'seg.safetensors');
    const ok = spawnSync(process.execPath, ['bin/pipa.js', 'convert-weights', 'test/fixtures/golden-public/weights/segmentor.pth', out], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /191 tensors, \d+ bytes, layout segmentor/);
    const bad = spawnSync(process.execPath, ['bin/pipa.js', 'convert-weights', 'README.md', join(dir, 'x.safetensors')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /README\.md: not a checkpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
