// grpc.health.v1 Health on the coordinator's --health-port: what a Kubernetes `grpc:` probe
// sends (Check with an empty service name) gets SERVING, checked both with a client built
// from our health.proto and at the byte level (field 1 varint 1 = SERVING in the public
// protocol), so a wrong enum number in the .proto could not pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { healthClientConstructor, startHealthServer, type ServingStatus } from '../../../src/coordinator/health-server.js';
import { startCoordinatorRun } from '../../../src/coordinator/run.js';
import { ENGINE_CONFIG, tinyRunOverrides } from '../../dist/engine-fixture.js';

function check(address: string, service: string): Promise<{ status: string }> {
  const Client = healthClientConstructor();
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise<{ status: string }>((resolve, reject) =>
    (client.Check as (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: { status: string }) => void) => void).call(
      client, { service }, { deadline: Date.now() + 5000 }, (e, v) => (e ? reject(e) : resolve(v))),
  ).finally(() => client.close());
}

/** Check with an empty request, as grpc_health_probe / kubelet send it, returning the raw response bytes. */
function rawCheck(address: string): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5000 },
      (e, v) => (e ? reject(e) : resolve(v as Buffer))),
  ).finally(() => client.close());
}

test('Health.Check: SERVING for the server and named services, NOT_FOUND otherwise, follows the status callback', async () => {
  let status: ServingStatus = 'SERVING';
  const h = await startHealthServer(0, '127.0.0.1', ['pipa.v1.Coordinator'], () => status);
  try {
    assert.equal(h.address, `127.0.0.1:${h.port}`);
    assert.equal((await check(h.address, '')).status, 'SERVING');
    assert.equal((await check(h.address, 'pipa.v1.Coordinator')).status, 'SERVING');
    assert.deepEqual([...(await rawCheck(h.address))], [0x08, 0x01], 'status = 1 (SERVING) on the wire');
    await assert.rejects(check(h.address, 'no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /no\.such\.Service/.test(e.details));
    status = 'NOT_SERVING';
    assert.equal((await check(h.address, '')).status, 'NOT_SERVING');
    assert.deepEqual([...(await rawCheck(h.address))], [0x08, 0x02]);
    await assert.rejects(startHealthServer(h.port, '127.0.0.1', []), /health server could not listen on 127\.0\.0\.1:\d+/);
  } finally {
    await h.close();
  }
});

test('startCoordinatorRun with healthPort serves Health until the run ends', { timeout: 60_000 }, async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'pipa-coord-health-'));
  const run = await startCoordinatorRun({
    configPath: ENGINE_CONFIG, overrides: tinyRunOverrides(join(workDir, 'no-data'), 2), workers: 1, host: '127.0.0.1', port: 0,
    workDir: join(workDir, 'run'), healthPort: 0, logLevel: 'silent', pretty: false, tty: false, out: { write: () => true },
  });
  try {
    assert.match(run.healthAddress ?? '', /^127\.0\.0\.1:\d+$/);
    assert.notEqual(run.healthAddress, run.address, 'its own port, next to the Coordinator service');
    assert.equal((await check(run.healthAddress!, '')).status, 'SERVING');
    assert.equal((await check(run.healthAddress!, 'pipa.v1.Coordinator')).status, 'SERVING');
    assert.equal(run.metricsUrl, null, 'no metrics server unless asked');
  } finally {
    run.coordinator.fail('test over');
    await run.done;
    rmSync(workDir, { recursive: true, force: true });
  }
  await assert.rejects(check(run.healthAddress!, ''), 'the health server closes with the run');
});
