// `pipa worker` finds its coordinator from --coordinator or, when that is absent, from the
// torchrun variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) that Kubernetes/PyTorchJob
// set; with neither it exits 2 naming both ways. The address really used is checked with a
// stub Coordinator whose GetRunConfig answers with a marker error the worker then reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { coordinatorService } from '../../src/coordinator/wire.js';
import { statusError } from '../../src/coordinator/server.js';

const TORCH_VARS = ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOCAL_RANK'];

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PIPA_CLI_NO_MAIN: '0' };
  for (const k of TORCH_VARS) delete env[k];
  return { ...env, ...extra };
}

function runPipa(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/pipa.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, out });
    });
  });
}

test('pipa worker without --coordinator and without the torchrun variables exits 2 naming both ways', async () => {
  const r = await runPipa(['worker', '--backend', 'cpu'], cleanEnv());
  assert.equal(r.status, 2, r.out);
  assert.match(r.out, /--coordinator HOST:PORT/);
  assert.match(r.out, /RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT/);
  const partial = await runPipa(['worker', '--backend', 'cpu'], cleanEnv({ RANK: '0', MASTER_ADDR: '127.0.0.1' }));
  assert.equal(partial.status, 2, partial.out);
  assert.match(partial.out, /WORLD_SIZE, MASTER_PORT missing/);
});

test('--coordinator is not a required option any more', async () => {
  const r = await runPipa(['worker', '--help'], cleanEnv());
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /--coordinator/);
  assert.doesNotMatch(r.out.split('--coordinator')[1].split('\n  --')[0], /\[required\]/);
});

test('without --coordinator the worker contacts MASTER_ADDR:MASTER_PORT', async () => {
  const marker = `stub coordinator ${process.pid}-${Date.now()} reached`;
  const server = new grpc.Server();
  server.addService(coordinatorService(), {
    GetRunConfig: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(statusError(grpc.status.FAILED_PRECONDITION, marker)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  try {
    const env = cleanEnv({ RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
    const r = await runPipa(['worker', '--backend', 'cpu', '--log-level', 'info'], env);
    assert.notEqual(r.status, 0, 'the stub refuses the worker');
    assert.match(r.out, /torchrun env/, 'the log says where the address came from');
    assert.ok(r.out.includes(`127.0.0.1:${port}`), r.out);
    assert.ok(r.out.includes(marker), `the worker reached the stub at MASTER_ADDR:MASTER_PORT:\n${r.out}`);
    // --coordinator wins over the variables: pointing it at the stub while MASTER_PORT is a dead port.
    const r2 = await runPipa(['worker', '--backend', 'cpu', '--coordinator', `127.0.0.1:${port}`],
      cleanEnv({ RANK: '0', WORLD_SIZE: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '1' }));
    assert.ok(r2.out.includes(marker), r2.out);
    assert.match(r2.out, /"from":"--coordinator"/);
  } finally {
    server.forceShutdown();
  }
});
