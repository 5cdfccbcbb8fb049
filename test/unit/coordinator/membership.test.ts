import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Membership, MembershipError, usableWorld } from '../../../src/coordinator/membership.js';

const policy = { targetWorkers: 4, minWorkers: 2, maxRestarts: 2, globalBatch: 8, failureTimeoutMs: 5000 };

let joined = 0;
function joinN(m: Membership, n: number) {
  return Array.from({ length: n }, () => {
    const i = joined++ % 1000;
    return m.join({ host: 'h', pid: 100 + i, peerAddress: `127.0.0.1:${7000 + i}`, backend: 'cpu' });
  });
}

test('usableWorld picks the largest divisor of the global batch', () => {
  assert.equal(usableWorld(4, 8), 4);
  assert.equal(usableWorld(3, 8), 2);
  assert.equal(usableWorld(5, 6), 3);
  assert.equal(usableWorld(0, 8), 0);
  assert.equal(usableWorld(16, 8), 8);
});

test('first generation starts when the target count has joined; ranks follow join order', () => {
  let t = 0;
  const m = new Membership(policy, () => t);
  joined = 0;
  joinN(m, 3);
  assert.equal(m.readyToStart(), false);
  joinN(m, 1);
  assert.equal(m.readyToStart(), true);
  const g = m.formGeneration(0, false);
  assert.equal(g.generation, 1);
  assert.equal(g.members.length, 4);
  assert.deepEqual(g.peers, ['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003']);
  assert.deepEqual(m.members().map((w) => w.rank), [0, 1, 2, 3]);
  t = 6000;
  m.heartbeat(g.members[0]);
  assert.deepEqual(m.silentMembers().map((w) => w.rank), [1, 2, 3]);
});

test('after a failure the survivors re-form with a world that divides the batch', () => {
  const m = new Membership(policy, () => 0);
  joinN(m, 4);
  const g1 = m.formGeneration(0, false);
  assert.equal(m.remove(g1.members[2], 'lost'), true);
  const g2 = m.formGeneration(50, true);
  // 3 survivors, but 3 does not divide 8: two train, one waits as a standby.
  assert.equal(g2.members.length, 2);
  assert.equal(g2.generation, 2);
  assert.equal(g2.startStep, 50);
  assert.equal(m.waiting().length, 1);
  m.remove(g2.members[0], 'lost');
  const g3 = m.formGeneration(60, true);
  assert.equal(g3.members.length, 2, 'the standby joins in');
  m.remove(g3.members[0], 'lost');
  assert.throws(() => m.formGeneration(70, true), (e: Error) => e instanceof MembershipError && /restart budget/.test(e.message));
});

test('too few workers stops the run with a message', () => {
  const m = new Membership({ ...policy, maxRestarts: 10 }, () => 0);
  joinN(m, 4);
  const g = m.formGeneration(0, false);
  for (const id of g.members.slice(0, 3)) m.remove(id, 'lost');
  assert.throws(() => m.formGeneration(10, true), /below minWorkers 2/);
});

test('an indivisible target is rejected up front', () => {
  assert.throws(() => new Membership({ ...policy, targetWorkers: 3 }), /not divisible by 3 workers/);
});

test('stragglers are named by rank', () => {
  const m = new Membership(policy, () => 0);
  joinN(m, 4);
  const g = m.formGeneration(0, false);
  for (let s = 0; s < 6; s++) g.members.forEach((id, r) => m.reportStep(id, s, r === 3 ? 300 : 100));
  const s = m.stragglers();
  assert.equal(s.length, 1);
  assert.equal(s[0].rank, 3);
  assert.equal(s[0].medianMs, 300);
});
