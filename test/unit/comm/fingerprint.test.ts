import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { compareFingerprints, type CollectiveFingerprint } from '../../../src/comm/fingerprint.js';
import { markNonFinite } from '../../../src/comm/non-finite.js';

const base: CollectiveFingerprint = {
  generation: 2, step: 10, bucket: 0, byte_length: 4000, layout_hash: 'aaaa', world_size: 4,
  wire_dtype: 'FLOAT32', op: 'SUM', chunk_elements: 262144, rank: 1,
};

test('fingerprint: equal → null; each differing field is named with both ranks and values', () => {
  assert.equal(compareFingerprints(base, { ...base, rank: 2 }, 2), null);
  const fields: [keyof CollectiveFingerprint, unknown][] = [['step', 11], ['bucket', 1], ['byte_length', 4004], ['layout_hash', 'bbbb'], ['op', 'MEAN'], ['wire_dtype', 'FLOAT16'], ['world_size', 3], ['chunk_elements', 7]];
  for (const [f, v] of fields) {
    const err = compareFingerprints(base, { ...base, rank: 2, [f]: v }, 2);
    assert.ok(err, f);
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.message, new RegExp(`'${f}'`));
    assert.match(err.message, /rank 2 has .*rank 1 has/);
    assert.ok(err.message.includes(String(v)), `${f}: message shows the remote value`);
  }
});

test('fingerprint: a generation difference is ABORTED and names both generations', () => {
  const err = compareFingerprints(base, { ...base, rank: 2, generation: 3 }, 2);
  assert.equal(err?.name, 'GenerationChangedError');
  assert.equal(err?.code, status.ABORTED);
  assert.match(err!.message, /rank 2 is in generation 3, rank 1 in generation 2/);
});

test('fingerprint: the wrong neighbour (peer lists differ) is refused', () => {
  const err = compareFingerprints(base, { ...base, rank: 3 }, 2);
  assert.match(err!.message, /'rank'/);
});

test('markNonFinite: sets the flag for NaN/Inf anywhere before it, 0 otherwise', () => {
  const b = new Float32Array([1, 2, 3, 99]);
  assert.equal(markNonFinite(b), false);
  assert.equal(b[3], 0);
  for (const bad of [NaN, Infinity, -Infinity]) {
    const c = new Float32Array([1, bad, 3, 0]);
    assert.equal(markNonFinite(c), true);
    assert.equal(c[3], 1);
  }
});
