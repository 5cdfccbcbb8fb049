// Ring all-reduce between separate processes (one rank each) on 127.0.0.1, including a rank
// that is SIGKILLed and a rank whose main thread is blocked (the worker-thread ring's reason to exist).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildReport } from './ring-child.js';

const CHILD = fileURLToPath(new URL('./ring-child.ts', import.meta.url));

interface Rank {
  proc: ChildProcess;
  address: string;
  next(type: ChildReport['type'], timeoutMs?: number): Promise<ChildReport>;
  /** Forget reports of this type received so far. */
  drop(type: ChildReport['type']): void;
  send(cmd: ChildCommand): void;
}

async function spawnRank(mode: 'thread' | 'inline'): Promise<Rank> {
  const proc = fork(CHILD, [mode], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: ChildReport[] = [];
  const waiters: (() => void)[] = [];
  proc.on('message', (m: ChildReport) => {
    inbox.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (type: ChildReport['type'], timeoutMs = 60_000): Promise<ChildReport> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0];
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`rank process exited (${proc.exitCode ?? proc.signalCode}) while waiting for '${type}'`);
      if (Date.now() > deadline) throw new Error(`no '${type}' from rank process within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const listening = (await next('listening')) as Extract<ChildReport, { type: 'listening' }>;
  const drop = (type: ChildReport['type']) => {
    for (let i = inbox.length - 1; i >= 0; i--) if (inbox[i].type === type) inbox.splice(i, 1);
  };
  return { proc, address: listening.address, next, drop, send: (cmd) => proc.send(cmd) };
}

async function spawnRing(n: number, mode: 'thread' | 'inline', timeoutMs = 20_000): Promise<Rank[]> {
  const ranks = await Promise.all(Array.from({ length: n }, () => spawnRank(mode)));
  const peers = ranks.map((r) => r.address);
  ranks.forEach((r, rank) => r.send({ type: 'configure', config: { rank, worldSize: n, generation: 1, peers, timeoutMs, chunkBytes: 1 << 20 } }));
  await Promise.all(ranks.map((r) => r.next('configured')));
  return ranks;
}

async function run(ranks: Rank[], cmd: Extract<ChildCommand, { type: 'run' }> | ((rank: number) => Extract<ChildCommand, { type: 'run' }>)) {
  ranks.forEach((r, i) => r.send(typeof cmd === 'function' ? cmd(i) : cmd));
  return (await Promise.all(ranks.map((r) => r.next('result')))) as Extract<ChildReport, { type: 'result' }>[];
}

function shutdown(ranks: Rank[]): void {
  for (const r of ranks) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.send({ type: 'exit' });
      setTimeout(() => r.proc.kill('SIGKILL'), 3000).unref();
    }
  }
}

describe('ring all-reduce across processes', { timeout: 300_000 }, () => {
  for (const [n, mode] of [[2, 'thread'], [3, 'inline'], [4, 'thread']] as const) {
    test(`n=${n} processes (${mode} ring): exact integer sums, odd lengths; mean; non-finite flag`, async () => {
      const ranks = await spawnRing(n, mode);
      try {
        let step = 0;
        for (const length of [17, 1_000_003]) {
          const res = await run(ranks, { type: 'run', step: ++step, length });
          res.forEach((r, i) => {
            assert.ifError(r.error);
            assert.equal(r.wrong, 0, `rank ${i}: ${r.wrong} wrong (max |Δ| ${r.maxAbs})`);
          });
          console.log(`n=${n} ${mode} length=${length}: exact, ${Math.max(...res.map((r) => r.ms)).toFixed(0)} ms`);
        }
        const mean = await run(ranks, { type: 'run', step: ++step, length: 4099, op: 'mean' });
        mean.forEach((r) => assert.equal(r.wrong, 0, `mean: ${r.wrong} wrong`));
        const nan = await run(ranks, { type: 'run', step: ++step, length: 1000, nanOnRank: n - 1 });
        nan.forEach((r, i) => assert.equal(r.nonFinite, true, `rank ${i} must learn of rank ${n - 1}'s NaN`));
      } finally {
        shutdown(ranks);
      }
    });
  }

  for (const when of ['before', 'during'] as const) {
    test(`a rank SIGKILLed ${when} the all-reduce: the others fail with a named error within the deadline`, async () => {
      const timeoutMs = 6000;
      const ranks = await spawnRing(3, 'thread', timeoutMs);
      try {
        const ok = await run(ranks, { type: 'run', step: 1, length: 1000 });
        ok.forEach((r) => assert.ifError(r.error));
        const length = when === 'before' ? 1000 : 8_000_000;
        const victim = ranks[2];
        if (when === 'before') {
          victim.proc.kill('SIGKILL');
          ranks.slice(0, 2).forEach((r) => r.send({ type: 'run', step: 2, length }));
        } else {
          ranks.forEach((r) => r.drop('started'));
          ranks.forEach((r) => r.send({ type: 'run', step: 2, length }));
          await Promise.all(ranks.map((r) => r.next('started')));
          await new Promise((r) => setTimeout(r, 300)); // 32 MB: still moving
          victim.proc.kill('SIGKILL');
        }
        const t0 = Date.now();
        const res = (await Promise.all(ranks.slice(0, 2).map((r) => r.next('result', timeoutMs + 10_000)))) as Extract<ChildReport, { type: 'result' }>[];
        const waited = Date.now() - t0;
        res.forEach((r, i) => {
          console.log(`rank ${i} after ${r.ms.toFixed(0)} ms: ${r.error?.name}: ${r.error?.message}`);
          assert.ok(r.error, `rank ${i} must fail`);
          assert.match(r.error.name, /PeerUnavailableError|RingTimeoutError|RingAbortedError/);
          assert.match(r.error.message, /rank \d/);
          assert.ok(r.ms < timeoutMs + 1000, `rank ${i} failed after ${r.ms} ms, deadline ${timeoutMs}`);
        });
        assert.ok(res.some((r) => /rank 2/.test(r.error!.message)), 'the dead rank is named');
        assert.ok(waited < timeoutMs + 5000);
      } finally {
        shutdown(ranks);
      }
    });
  }

  test('a rank whose main thread is blocked for 1.5 s does not stall the others when the ring runs in a worker thread', async () => {
    const blockMs = 1500;
    const results: Record<string, number[]> = {};
    for (const mode of ['thread', 'inline'] as const) {
      const ranks = await spawnRing(3, mode);
      try {
        await run(ranks, { type: 'run', step: 1, length: 1000 }); // connections up
        const res = await run(ranks, (i) => ({ type: 'run', step: 2, length: 262_144, blockMainMs: i === 0 ? blockMs : undefined }));
        res.forEach((r) => {
          assert.ifError(r.error);
          assert.equal(r.wrong, 0);
        });
        results[mode] = res.map((r) => r.ms);
        console.log(`${mode}: ms per rank (rank 0 blocked ${blockMs} ms): ${res.map((r) => r.ms.toFixed(0)).join(', ')}`);
      } finally {
        shutdown(ranks);
      }
    }
    // Worker thread: ranks 1 and 2 finish while rank 0's main thread is still blocked.
    assert.ok(Math.max(results.thread[1], results.thread[2]) < blockMs - 300, `thread ring: others took ${results.thread.slice(1)}`);
    // Control: with the ring on the main thread they must wait for rank 0.
    assert.ok(Math.min(results.inline[1], results.inline[2]) > blockMs - 300, `inline ring: others took ${results.inline.slice(1)}`);
  });
});
