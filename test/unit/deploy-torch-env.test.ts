import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TorchEnvError, joinHostPort, parseTorchEnv, resolveCoordinatorTarget } from '../../src/common/torch-env.js';

const FULL = { RANK: '3', WORLD_SIZE: '8', MASTER_ADDR: 'pipa-coordinator', MASTER_PORT: '50051' };

test('no torchrun variables: not launched that way', () => {
  assert.equal(parseTorchEnv({}), null);
  assert.equal(parseTorchEnv({ RANK: '', PATH: '/bin' }), null);
});

test('all four variables give rank, world and the coordinator address', () => {
  const t = parseTorchEnv({ ...FULL, LOCAL_RANK: '1' });
  assert.deepEqual(t, {
    rank: 3,
    worldSize: 8,
    masterAddr: 'pipa-coordinator',
    masterPort: 50051,
    coordinator: 'pipa-coordinator:50051',
    localRank: 1,
  });
  assert.equal(parseTorchEnv(FULL)?.localRank, null);
});

test('partial or malformed variables are named in the error', () => {
  assert.throws(() => parseTorchEnv({ RANK: '0', MASTER_ADDR: 'x' }), (e: Error) =>
    e instanceof TorchEnvError && /WORLD_SIZE, MASTER_PORT missing/.test(e.message));
  assert.throws(() => parseTorchEnv({ ...FULL, RANK: '8' }), /RANK=8 is outside \[0, 7\]/);
  assert.throws(() => parseTorchEnv({ ...FULL, RANK: '-1' }), /RANK='-1' is not a non-negative integer/);
  assert.throws(() => parseTorchEnv({ ...FULL, MASTER_PORT: '70000' }), /MASTER_PORT=70000/);
  assert.throws(() => parseTorchEnv({ ...FULL, WORLD_SIZE: '0' }), /WORLD_SIZE=0/);
  assert.throws(() => parseTorchEnv({ ...FULL, MASTER_ADDR: 'http://x' }), /MASTER_ADDR/);
});

test('IPv6 literals are bracketed for gRPC targets', () => {
  assert.equal(joinHostPort('::1', 5), '[::1]:5');
  assert.equal(joinHostPort('[fe80::2]', 6), '[fe80::2]:6');
  assert.equal(joinHostPort('10.0.0.1', 7), '10.0.0.1:7');
  assert.equal(parseTorchEnv({ ...FULL, MASTER_ADDR: '::1' })?.coordinator, '[::1]:50051');
});

test('--coordinator wins over the environment; the environment is the fallback', () => {
  const a = resolveCoordinatorTarget('127.0.0.1:9000', FULL);
  assert.equal(a.coordinator, '127.0.0.1:9000');
  assert.equal(a.source, '--coordinator');
  assert.equal(a.torch?.rank, 3);
  const b = resolveCoordinatorTarget(undefined, FULL);
  assert.equal(b.coordinator, 'pipa-coordinator:50051');
  assert.equal(b.source, 'torchrun env');
  assert.throws(() => resolveCoordinatorTarget(undefined, {}), /pass --coordinator HOST:PORT, or set RANK/);
  assert.throws(() => resolveCoordinatorTarget('h:1', { RANK: '0' }), TorchEnvError);
});
