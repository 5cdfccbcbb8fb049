// Sharding: a step's global batch depends only on (seed, step); simulated ranks in one process get
// disjoint contiguous slices that together are exactly that batch, for every world size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { samplesForStep, sliceForRank, valShard, type DrawSpace } from '../../../src/data/sharding.js';
import { ShardingError } from '../../../src/data/errors.js';

const space: DrawSpace = { sourceCount: 101, targetCount: 37, rcs: null };

test('global draws depend only on (seed, step)', () => {
  const a = samplesForStep(space, 3, 17, 8);
  assert.deepEqual(samplesForStep(space, 3, 17, 8), a);
  assert.notDeepEqual(samplesForStep(space, 3, 18, 8), a);
  assert.notDeepEqual(samplesForStep(space, 4, 17, 8), a);
  // A larger global batch extends the same draws (draw g does not depend on the batch size).
  assert.deepEqual(samplesForStep(space, 3, 17, 16).slice(0, 8), a);
  assert.deepEqual(a.map((d) => d.globalIndex), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('rank slices are disjoint, complete, in order and independent of the world size', () => {
  for (const globalBatch of [8, 12]) {
    for (let step = 0; step < 5; step++) {
      const global = samplesForStep(space, 0, step, globalBatch);
      for (const world of [1, 2, 3, 4, 6, 12, 8].filter((w) => globalBatch % w === 0)) {
        // Each simulated rank computes its own draws independently, as a separate process would.
        const perRank = Array.from({ length: world }, (_, r) => sliceForRank(samplesForStep(space, 0, step, globalBatch), r, world));
        assert.deepEqual(perRank.flat(), global, `world ${world}`);
        const seen = new Set(perRank.flat().map((d) => d.globalIndex));
        assert.equal(seen.size, globalBatch);
        assert.ok(perRank.every((p) => p.length === globalBatch / world));
      }
    }
  }
});

test('a world size that does not divide the global batch is a clear error', () => {
  const draws = samplesForStep(space, 0, 0, 6);
  assert.throws(() => sliceForRank(draws, 0, 4), (e: Error) => e instanceof ShardingError && /6 is not divisible by world size 4/.test(e.message));
  assert.throws(() => sliceForRank(draws, 3, 3), ShardingError);
  assert.throws(() => sliceForRank(draws, 0, 0), ShardingError);
});

test('validation shards: disjoint, complete, contiguous, no padding, sizes within 1', () => {
  for (const n of [0, 1, 7, 500, 501])
    for (const world of [1, 2, 3, 7, 8]) {
      const shards = Array.from({ length: world }, (_, r) => valShard(n, r, world));
      assert.deepEqual(shards.flat(), Array.from({ length: n }, (_, i) => i), `n ${n} world ${world}`);
      const sizes = shards.map((s) => s.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
});
