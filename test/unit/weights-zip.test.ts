// ZipArchive: stored, deflated and ZIP64 archives built independently by the test writer,
// plus the failure modes of damaged files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ZipArchive } from '../../src/model/weights/zip-reader.js';
import { CheckpointError } from '../../src/model/weights/tensor-record.js';
import { buildZip } from './weights-builders.js';

const payloads = [
  { name: 'a/data.pkl', data: Buffer.from('hello pickle') },
  { name: 'a/data/0', data: randomBytes(5000) },
  { name: 'a/data/1', data: Buffer.alloc(3000, 7) }, // compressible
  { name: 'a/empty', data: Buffer.alloc(0) },
];

for (const variant of [
  { label: 'stored', deflate: false, zip64: false },
  { label: 'deflate', deflate: true, zip64: false },
  { label: 'zip64 + deflate', deflate: true, zip64: true },
  { label: 'zip64 stored', deflate: false, zip64: true },
]) {
  test(`zip reader: ${variant.label} entries come back byte-exact`, () => {
    const buf = buildZip(payloads.map((p) => ({ ...p, deflate: variant.deflate })), { zip64: variant.zip64 });
    const zip = ZipArchive.fromBuffer(buf, 'mem.zip');
    assert.deepEqual(zip.names(), payloads.map((p) => p.name));
    for (const p of payloads) assert.ok(zip.read(p.name).equals(p.data), p.name);
    if (variant.deflate) assert.equal(zip.entries.get('a/data/1')!.method, 8);
  });
}

test('zip reader: truncated archive → CheckpointError naming the file', () => {
  const buf = buildZip(payloads);
  for (const cut of [buf.length - 1, Math.floor(buf.length / 2), 10]) {
    assert.throws(() => ZipArchive.fromBuffer(buf.subarray(0, cut), 'cut.zip'), (e: unknown) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(e.message, /^cut\.zip: /);
      assert.match(e.message, /truncated|not a ZIP/);
      return true;
    });
  }
});

test('zip reader: a flipped data byte is caught by the CRC check', () => {
  const buf = Buffer.from(buildZip(payloads));
  const idx = buf.indexOf(payloads[1].data.subarray(0, 16));
  buf[idx + 100] ^= 0xff;
  const zip = ZipArchive.fromBuffer(buf, 'bad.zip');
  assert.ok(zip.read('a/data/1').equals(payloads[2].data), 'other entries still read');
  assert.throws(() => zip.read('a/data/0'), /^CheckpointError: bad\.zip: entry 'a\/data\/0': CRC-32 mismatch/);
  assert.throws(() => zip.read('a/nope'), /bad\.zip: archive has no entry 'a\/nope'/);
});

test('zip reader: a corrupt deflate stream → CheckpointError', () => {
  const buf = Buffer.from(buildZip([{ name: 'x', data: randomBytes(4000), deflate: true }]));
  buf.fill(0xff, 40, 60); // inside the deflate body (local header is 30 + 1 name byte)
  assert.throws(() => ZipArchive.fromBuffer(buf, 'z.zip').read('x'), (e: unknown) => e instanceof CheckpointError && /z\.zip: entry 'x'/.test(e.message));
});
