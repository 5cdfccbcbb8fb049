// Runs the ring schedule on plain arrays (no sockets): if the segment/step arithmetic were off,
// the simulated result would not be the elementwise sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringSegments, ringSlots, ringSteps, sendDependencies, ownedSegment } from '../../../src/comm/ring-schedule.js';

function simulate(n: number, length: number, chunk: number): Float64Array[] {
  const bufs = Array.from({ length: n }, (_, r) => Float64Array.from({ length }, (_, i) => (r + 1) * 1000 + i));
  const send = bufs.map((_, r) => ringSlots(r, n, length, chunk, 'send'));
  const recv = bufs.map((_, r) => ringSlots(r, n, length, chunk, 'recv'));
  for (let t = 0; t < ringSteps(n); t++) {
    // what every rank sends at step t, snapshotted before anyone applies step t
    const out = send.map((slots, r) => slots.filter((s) => s.ringStep === t).map((s) => ({ s, data: bufs[r].slice(s.start, s.start + s.length) })));
    for (let r = 0; r < n; r++) {
      const left = (r - 1 + n) % n;
      const incoming = out[left];
      const mine = recv[r].filter((s) => s.ringStep === t);
      assert.equal(incoming.length, mine.length, `n=${n} step ${t} rank ${r}: chunk counts`);
      mine.forEach((s, i) => {
        assert.equal(incoming[i].s.start, s.start);
        for (let j = 0; j < s.length; j++) bufs[r][s.start + j] = s.phase === 'REDUCE_SCATTER' ? bufs[r][s.start + j] + incoming[i].data[j] : incoming[i].data[j];
      });
    }
  }
  return bufs;
}

test('ring schedule: every rank ends with the elementwise sum (n 1..6, odd lengths, chunking)', () => {
  for (const n of [1, 2, 3, 4, 5, 6]) {
    for (const length of [0, 1, n - 1, n, 7, 101, 1000]) {
      for (const chunk of [1, 3, 64]) {
        const bufs = simulate(n, Math.max(0, length), chunk);
        for (let i = 0; i < length; i++) {
          let want = 0;
          for (let r = 0; r < n; r++) want += (r + 1) * 1000 + i;
          for (let r = 0; r < n; r++) assert.equal(bufs[r][i], want, `n=${n} len=${length} chunk=${chunk} rank ${r} elem ${i}`);
        }
      }
    }
  }
});

test('ring schedule: segments cover the buffer; send slot t+1 forwards receive slot t', () => {
  for (const n of [2, 3, 4, 7]) {
    for (const length of [5, 64, 1001]) {
      const segs = ringSegments(length, n);
      assert.equal(segs.reduce((a, s) => a + s.length, 0), length);
      assert.ok(Math.max(...segs.map((s) => s.length)) - Math.min(...segs.map((s) => s.length)) <= 1);
      for (let r = 0; r < n; r++) {
        const send = ringSlots(r, n, length, 16, 'send');
        const recv = ringSlots(r, n, length, 16, 'recv');
        const deps = sendDependencies(send, recv);
        deps.forEach((d, i) => assert.ok(d < 0 ? send[i].ringStep === 0 : recv[d].start === send[i].start));
        const lastRs = recv.filter((s) => s.ringStep === n - 2);
        for (const s of lastRs) assert.equal(s.segment, ownedSegment(r, n));
      }
    }
  }
});
