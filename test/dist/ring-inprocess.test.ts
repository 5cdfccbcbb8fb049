// Ring all-reduce with n ranks in one process over real gRPC on 127.0.0.1.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { markNonFinite } from '../../src/comm/non-finite.js';
import { bitwiseEqual, countWrong, integerData, localRing, randomData, referenceSum, settleAll } from './ring-harness.js';

const HASH = 'layout-hash-0123456789abcdef';

describe('ring all-reduce, ranks in one process', { timeout: 180_000 }, () => {
  for (const n of [1, 2, 3, 4]) {
    test(`n=${n}: integer-valued sums are exact for odd lengths, small and large chunks`, async () => {
      const ring = await localRing(n, { chunkBytes: 64 });
      const big = await localRing(n, { chunkBytes: 256 << 10 });
      try {
        let step = 0;
        for (const [r, lengths] of [[ring, [1, 2, 3, n - 1, 5, 101, 1001]], [big, [262_147, 1_000_003]]] as const) {
          for (const length of lengths) {
            if (length === 0) continue;
            step++;
            const bufs = r.comms.map((c) => integerData(c.rank, length, step));
            const ref = referenceSum(bufs.map((b) => Float32Array.from(b)));
            const res = await settleAll(r.comms.map((c, i) => c.allReduce(bufs[i], { step, layoutHash: HASH })));
            for (const x of res) assert.ifError(x.error);
            for (const b of bufs) {
              const { wrong, maxAbs } = countWrong(b, ref.sum, null, 0, 0);
              assert.equal(wrong, 0, `n=${n} length=${length}: ${wrong} wrong elements, max |Δ| ${maxAbs}`);
            }
            console.log(`n=${n} length=${length}: exact on all ranks in ${Math.max(...res.map((x) => x.ms)).toFixed(1)} ms`);
          }
        }
      } finally {
        await ring.close();
        await big.close();
      }
    });
  }

  for (const [wire, rtol] of [['f32', 4 * 2 ** -24], ['f16', 2 ** -10], ['bf16', 2 ** -7]] as const) {
    test(`n=4 random data, wire ${wire}: within ${rtol.toExponential(1)}·Σ|x| of the float64 sum, bitwise equal on all ranks; mean = sum/n`, async () => {
      const n = 4;
      const ring = await localRing(n, { wire, chunkBytes: 4096 });
      try {
        for (const op of ['sum', 'mean'] as const) {
          const step = op === 'sum' ? 1 : 2;
          const bufs = ring.comms.map((c) => randomData(c.rank, 20_011, step));
          const ref = referenceSum(bufs.map((b) => Float32Array.from(b)));
          if (op === 'mean') {
            for (let i = 0; i < ref.sum.length; i++) {
              ref.sum[i] /= n;
              ref.abs[i] /= n;
            }
          }
          const res = await settleAll(ring.comms.map((c, i) => c.allReduce(bufs[i], { step, layoutHash: HASH, op })));
          for (const x of res) assert.ifError(x.error);
          const { wrong, maxAbs } = countWrong(bufs[0], ref.sum, ref.abs, 1e-7, rtol * n);
          console.log(`wire ${wire} ${op}: max |Δ| vs float64 ${maxAbs.toExponential(3)}, ${wrong} outside tolerance`);
          assert.equal(wrong, 0);
          for (let r = 1; r < n; r++) assert.ok(bitwiseEqual(bufs[0], bufs[r]), `rank ${r} differs from rank 0`);
        }
      } finally {
        await ring.close();
      }
    });
  }

  test('non-finite flag: one rank with NaN makes every rank report it (sum and mean); clean steps report none', async () => {
    for (const n of [1, 3]) {
      const ring = await localRing(n, { chunkBytes: 32 });
      try {
        let step = 0;
        for (const op of ['sum', 'mean'] as const) {
          for (const badRank of [-1, n - 1]) {
            step++;
            const bufs = ring.comms.map((c) => {
              const b = new Float32Array(58);
              b.set(integerData(c.rank, 57));
              if (c.rank === badRank) b[13] = NaN;
              markNonFinite(b);
              return b;
            });
            const res = await settleAll(ring.comms.map((c, i) => c.allReduce(bufs[i], { step, layoutHash: HASH, op, nonFiniteFlag: true })));
            for (const x of res) {
              assert.ifError(x.error);
              assert.equal(x.value!.nonFinite, badRank >= 0, `n=${n} ${op} bad rank ${badRank}`);
              assert.equal(x.value!.nonFiniteRanks, badRank >= 0 ? 1 : 0);
            }
          }
        }
      } finally {
        await ring.close();
      }
    }
  });

  const mismatches: [string, (rank: number) => { len?: number; step?: number; bucket?: number; hash?: string; op?: 'sum' | 'mean' }][] = [
    ['byte_length', (r) => ({ len: r === 2 ? 1001 : 1000 })],
    ['layout_hash', (r) => ({ hash: r === 1 ? 'another-layout' : HASH })],
    ['step', (r) => ({ step: r === 3 ? 8 : 7 })],
    ['bucket', (r) => ({ bucket: r === 0 ? 1 : 0 })],
    ['op', (r) => ({ op: r === 2 ? 'mean' : 'sum' })],
  ];
  for (const [field, vary] of mismatches) {
    test(`fingerprint mismatch in ${field} fails all 4 ranks within a second, naming the field and a rank`, async () => {
      const ring = await localRing(4, { timeoutMs: 20_000 });
      try {
        const res = await settleAll(
          ring.comms.map((c) => {
            const v = vary(c.rank);
            return c.allReduce(integerData(c.rank, v.len ?? 1000), { step: v.step ?? 7, bucket: v.bucket ?? 0, layoutHash: v.hash ?? HASH, op: v.op ?? 'sum' });
          }),
        );
        res.forEach((x, r) => {
          assert.ok(x.error, `rank ${r} should fail`);
          console.log(`rank ${r} after ${x.ms.toFixed(0)} ms: ${x.error.name}: ${x.error.message}`);
          assert.ok(x.ms < 1000, `rank ${r} took ${x.ms} ms`);
          assert.match(x.error.message, new RegExp(`'${field}'`));
          assert.match(x.error.message, /rank \d/);
          assert.equal((x.error as { code?: number }).code, status.FAILED_PRECONDITION);
        });
        // The servers survive: a fresh generation on the same ports works.
        ring.regenerate(2);
        const bufs = ring.comms.map((c) => integerData(c.rank, 999));
        const ref = referenceSum(bufs.map((b) => Float32Array.from(b)));
        await Promise.all(ring.comms.map((c, i) => c.allReduce(bufs[i], { step: 1, layoutHash: HASH })));
        assert.equal(countWrong(bufs[3], ref.sum, null, 0, 0).wrong, 0);
      } finally {
        await ring.close();
      }
    });
  }

  test('generation mismatch: the stale rank is ABORTED at once naming both generations; the newer one waits for it only until its deadline', async () => {
    const ring = await localRing(2, { timeoutMs: 1500 });
    try {
      ring.comms[1].close();
      const peers = ring.servers.map((s) => s.address);
      const { RingCommunicator } = await import('../../src/comm/ring-communicator.js');
      ring.comms[1] = new RingCommunicator(ring.servers[1], { rank: 1, worldSize: 2, generation: 2, peers, timeoutMs: 1500 });
      const [stale, newer] = await settleAll(ring.comms.map((c) => c.allReduce(integerData(c.rank, 100), { step: 1, layoutHash: HASH })));
      for (const x of [stale, newer]) console.log(`${x.error?.name} after ${x.ms.toFixed(0)} ms: ${x.error?.message}`);
      assert.equal((stale.error as { code?: number }).code, status.ABORTED);
      assert.match(stale.error!.message, /rank 0 is in generation 1, rank 1 in generation 2/);
      assert.ok(stale.ms < 1000);
      // Rank 1 cannot tell "rank 0 is about to join generation 2" from "rank 0 is gone": it holds
      // rank 0's place until its deadline, then names it.
      assert.equal(newer.error?.name, 'RingTimeoutError');
      assert.match(newer.error!.message, /waiting for rank 0/);
      assert.ok(newer.ms < 1500 + 1000);
    } finally {
      await ring.close();
    }
  });

  test('a rank that never shows up: the others fail with RingTimeoutError naming it within the deadline', async () => {
    const ring = await localRing(3, { timeoutMs: 1500 });
    try {
      const res = await settleAll(ring.comms.slice(0, 2).map((c) => c.allReduce(integerData(c.rank, 5000), { step: 1, layoutHash: HASH })));
      for (const x of res) {
        assert.ok(x.error);
        console.log(`${x.error.name} after ${x.ms.toFixed(0)} ms: ${x.error.message}`);
        assert.ok(x.ms < 1500 + 1000, `took ${x.ms} ms`);
        assert.match(x.error.message, /timed out after 1500 ms in (CONNECT|REDUCE_SCATTER|ALL_GATHER) waiting for rank \d/);
      }
      assert.ok(res.some((x) => /waiting for rank 2/.test(x.error!.message)), 'someone names rank 2');
    } finally {
      await ring.close();
    }
  });

  test('misuse is refused before anything is sent: reused step, wrong rank/peers', async () => {
    const ring = await localRing(2);
    try {
      await Promise.all(ring.comms.map((c) => c.allReduce(new Float32Array(10), { step: 5, layoutHash: HASH })));
      await assert.rejects(ring.comms[0].allReduce(new Float32Array(10), { step: 5, layoutHash: HASH }), { name: 'RingConfigError', message: /increasing \(step, bucket\) order/ });
      const { RingCommunicator } = await import('../../src/comm/ring-communicator.js');
      assert.throws(() => new RingCommunicator(ring.servers[0], { rank: 2, worldSize: 2, generation: 1, peers: ['a', 'b'] }), { name: 'RingConfigError' });
    } finally {
      await ring.close();
    }
  });
});
