// The distributed engine end to end: a coordinator in this process, workers as real child
// processes (`pipa worker`) on 127.0.0.1, the cpu backend and a tiny model on a tiny
// synthetic dataset.
//  - 1 worker vs 2 workers at the same global batch: same losses, same final weights
//    (the 2-worker run is also the smoke test: metrics.jsonl, checkpoints, `pipa status`);
//  - Join with a wrong config hash or layout hash → FAILED_PRECONDITION naming both hashes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { startCoordinatorRun, type CoordinatorRun } from '../../src/coordinator/run.js';
import { CoordinatorClient, CoordinatorCallError } from '../../src/worker/coordinator-client.js';
import { parseSafetensors } from '../../src/model/weights/safetensors.js';
import { ENGINE_CONFIG, tinyRunOverrides, tinySyntheticData } from './engine-fixture.js';

const PIPA = fileURLToPath(new URL('../../bin/pipa.js', import.meta.url));
const STEPS = 2;

let dataDir = '';
const scratch: string[] = [];

before(async () => {
  dataDir = await tinySyntheticData();
  scratch.push(dataDir);
});
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function quietOut() {
  let text = '';
  return { write: (s: string) => (text += s), text: () => text };
}

async function startRun(workers: number, overrides: string[], workDir: string): Promise<CoordinatorRun & { out: ReturnType<typeof quietOut> }> {
  const out = quietOut();
  const run = await startCoordinatorRun({
    configPath: ENGINE_CONFIG, overrides, workers, host: '127.0.0.1', port: 0, workDir, logLevel: 'warn', pretty: false, tty: false, out,
  });
  return { ...run, out };
}

function spawnWorker(address: string, logs: string[]): ChildProcess {
  const child = spawn(process.execPath, [PIPA, 'worker', '--coordinator', address, '--backend', 'cpu', '--data-workers', '0', '--log-level', 'warn', '--no-pretty'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b: Buffer) => logs.push(b.toString());
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

function exited(c: ChildProcess): Promise<number | null> {
  return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
}

interface RunResult {
  dir: string;
  steps: Array<{ step: number; world: number; loss: Record<string, number> }>;
  evals: Array<{ step: number; miou: number; iou: (number | null)[] }>;
  student: Map<string, Float32Array>;
  /** max |Δ| of the student between the step-1 and the final checkpoint (the run must train). */
  moved: number;
  status: unknown;
  out: string;
}

/** A whole run with `n` worker processes; the 2-worker run also asks `pipa status` while it trains. */
async function trainRun(n: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `pipa-engine-run${n}-`));
  scratch.push(dir);
  const run = await startRun(n, tinyRunOverrides(dataDir, STEPS, ['train.checkpointInterval=1']), dir);
  const logs: string[] = [];
  const children = Array.from({ length: n }, () => spawnWorker(run.address, logs));
  let statusJson: Promise<string> | null = null;
  const poll = setInterval(() => {
    if (statusJson || run.coordinator.phase !== 'training') return;
    statusJson = new Promise((resolve, reject) =>
      execFile(process.execPath, [PIPA, 'status', '--coordinator', run.address], { timeout: 60_000 }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
    );
  }, 200);
  try {
    const outcome = await run.done;
    const codes = await Promise.all(children.map(exited));
    assert.ok(outcome.ok, `run with ${n} workers failed: ${JSON.stringify(outcome)}\n${logs.join('')}`);
    assert.deepEqual(codes, Array(n).fill(0), `worker exit codes\n${logs.join('')}`);
  } finally {
    clearInterval(poll);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const student = studentAt(dir, STEPS);
  const previous = studentAt(dir, STEPS - 1);
  let moved = 0;
  for (const [k, a] of student) if (!k.endsWith('num_batches_tracked')) moved = Math.max(moved, maxAbsDiff(a, previous.get(k)!));
  return {
    dir,
    steps: lines.filter((l) => l.type === 'step' && l.rank === undefined),
    evals: lines.filter((l) => l.type === 'eval'),
    student,
    moved,
    status: statusJson ? JSON.parse(await statusJson) : null,
    out: run.out.text(),
  };
}

function studentAt(dir: string, step: number): Map<string, Float32Array> {
  const ckpt = join(dir, 'checkpoints', `ckpt-${String(step).padStart(8, '0')}.safetensors`);
  assert.ok(existsSync(ckpt), `checkpoint ${ckpt}`);
  const sd = parseSafetensors(readFileSync(ckpt), ckpt);
  return new Map([...sd].filter(([k]) => k.startsWith('student.')).map(([k, r]) => [k, r.data as Float32Array]));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('distributed engine over processes', { timeout: 600_000 }, () => {
  test('1 worker vs 2 workers at the same global batch: same losses and final weights; run dir, eval and status of the 2-worker run', async () => {
    const one = await trainRun(1);
    const two = await trainRun(2);
    // Smoke: every step and the evaluation are in metrics.jsonl.
    assert.deepEqual(two.steps.map((s) => s.step), [1, 2]);
    assert.deepEqual(two.steps.map((s) => s.world), [2, 2]);
    assert.equal(two.evals.length, 1);
    assert.equal(two.evals[0].step, STEPS);
    assert.equal(two.evals[0].iou.length, 19);
    assert.ok(existsSync(join(two.dir, 'config.yaml')));
    assert.ok(existsSync(join(two.dir, 'report.html')), 'report.html written at the end of the run');
    assert.match(readFileSync(join(two.dir, 'report.html'), 'utf8'), /<svg/);
    assert.match(two.out, /Per-class IoU/);
    assert.match(two.out, /mIoU \(19\)/);
    const st = two.status as { generation: number; step: number; workers: Array<{ rank: number; id: string; host: string; pid: number; state: string; lastStep: number; recentStepMs: number }> };
    assert.ok(st, '`pipa status` ran while training');
    assert.equal(st.generation, 1);
    assert.equal(st.workers.length, 2);
    assert.deepEqual(st.workers.map((w) => w.rank).sort(), [0, 1]);
    for (const w of st.workers) for (const k of ['id', 'host', 'pid', 'state', 'lastStep', 'recentStepMs'] as const) assert.ok(w[k] !== undefined, `status worker field ${k}`);
    // Equivalence.
    for (let i = 0; i < STEPS; i++) {
      const a = one.steps[i].loss;
      const b = two.steps[i].loss;
      console.log(`  step ${i + 1}: loss 1 worker ${a.loss.toFixed(7)}, 2 workers ${b.loss.toFixed(7)}`);
      for (const k of Object.keys(a)) {
        const tol = 1e-5 * Math.max(1, Math.abs(a[k]));
        assert.ok(Math.abs(a[k] - b[k]) <= tol, `step ${i + 1} ${k}: ${a[k]} vs ${b[k]}`);
      }
    }
    let maxDiff = 0;
    assert.deepEqual([...one.student.keys()].sort(), [...two.student.keys()].sort());
    for (const [k, a] of one.student) maxDiff = Math.max(maxDiff, maxAbsDiff(a, two.student.get(k)!));
    console.log(`  final student weights (${one.student.size} tensors): max |Δ| 1 vs 2 workers ${maxDiff.toExponential(2)}; last step moved them by up to ${one.moved.toExponential(2)}`);
    assert.ok(one.moved > 1e-4 && two.moved > 1e-4, 'the runs must actually train');
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    assert.ok(Math.abs(one.evals[0].miou - two.evals[0].miou) < 1e-6, `mIoU ${one.evals[0].miou} vs ${two.evals[0].miou}`);
  });

  test('Join with a wrong config hash or layout hash → FAILED_PRECONDITION naming both hashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-engine-join-'));
    scratch.push(dir);
    const run = await startRun(2, tinyRunOverrides(dataDir, STEPS), dir);
    const client = new CoordinatorClient(run.address, 10_000);
    try {
      const rc = await client.runConfig();
      const base = { host: 'test', pid: 1, peer_address: '127.0.0.1:1', backend: 'cpu', config_hash: rc.config_hash, layout_hash: 'layout-A' };
      const wrong = 'f'.repeat(64);
      await assert.rejects(client.join({ ...base, config_hash: wrong }), (e: CoordinatorCallError) => {
        assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
        assert.ok(e.message.includes(wrong) && e.message.includes(rc.config_hash), e.message);
        return true;
      });
      await client.join(base); // fixes the run's layout hash
      await assert.rejects(client.join({ ...base, layout_hash: 'layout-B' }), (e: CoordinatorCallError) => {
        assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
        assert.ok(e.message.includes('layout-A') && e.message.includes('layout-B'), e.message);
        return true;
      });
    } finally {
      client.close();
      run.coordinator.fail('test over');
      await run.done;
    }
  });

  test('a worker that goes silent (SIGSTOP) is detected by heartbeat timeout: the run stops with an error naming it, the other worker exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-engine-silent-'));
    scratch.push(dir);
    const run = await startRun(2, tinyRunOverrides(dataDir, 50, ['distributed.heartbeatMs=300', 'distributed.failureTimeoutMs=3000']), dir);
    const logs: string[] = [];
    const children = [spawnWorker(run.address, logs), spawnWorker(run.address, logs)];
    try {
      while (run.coordinator.phase === 'waiting') await new Promise((r) => setTimeout(r, 100));
      const victim = children[1];
      victim.kill('SIGSTOP');
      const t0 = Date.now();
      const outcome = await run.done;
      const detectedMs = Date.now() - t0;
      assert.equal(outcome.ok, false);
      const reason = (outcome as { reason: string }).reason;
      console.log(`  detected after ${detectedMs} ms: ${reason}`);
      assert.match(reason, /no heartbeat for more than 3000 ms/);
      assert.ok(reason.includes(`pid ${victim.pid}`), reason);
      const code = await Promise.race([exited(children[0]), new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
      assert.equal(code, 1, `the surviving worker exits with an error after the Stop\n${logs.join('')}`);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });
});
