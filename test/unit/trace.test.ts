import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceError, TraceWriter, mergeTraceFiles, readTraceFile, type TraceEvent } from '../../src/common/trace.js';

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-trace-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const spans = (ev: TraceEvent[]) => ev.filter((e) => e.ph === 'X');

test('the file is valid Trace Event JSON after every flush, and grows in place', withDir((dir) => {
  let clock = 1_000_000;
  const path = join(dir, 'rank-1', 'trace.json');
  const w = new TraceWriter({ path, rank: 1, flushEvery: 2, nowUs: () => clock });
  const meta = readTraceFile(path);
  assert.deepEqual(meta.filter((e) => e.ph === 'M').map((e) => e.name), ['process_name', 'process_sort_index', 'thread_name']);
  assert.deepEqual(meta[0].args, { name: 'rank 1' });
  for (let i = 0; i < 5; i++) {
    const end = w.begin('compute', { i });
    clock += 250;
    end();
    // Parses at every moment: only flushed events are visible, never a broken tail.
    const seen = spans(readTraceFile(path)).length;
    assert.equal(seen, 2 * Math.floor((i + 1) / 2), `after ${i + 1} spans`);
  }
  w.close();
  const ev = spans(readTraceFile(path));
  assert.equal(ev.length, 5);
  for (const [i, e] of ev.entries()) {
    assert.equal(e.dur, 250);
    assert.equal(e.pid, 1);
    assert.deepEqual(e.args, { i });
  }
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(doc.displayTimeUnit, 'ms');
  assert.throws(() => w.complete('late', 0, 1), TraceError);
}));

test('stepPhases lays the phases back to back inside the step span', withDir((dir) => {
  const path = join(dir, 'trace.json');
  const w = new TraceWriter({ path, rank: 0, nowUs: () => 0 });
  w.stepPhases(7, { data: 5, compute: 100, comm: 30, optim: 2.5, total: 140 }, 10_000_000);
  w.counter('throughput', { imgsPerSec: 3.5 }, 10_000_000);
  w.close();
  const ev = readTraceFile(path);
  const x = spans(ev);
  const step = x.find((e) => e.name === 'step 7');
  assert.ok(step);
  assert.equal(step.ts, 10_000_000 - 140_000);
  assert.equal(step.dur, 140_000);
  const phases = x.filter((e) => e.name !== 'step 7');
  assert.deepEqual(phases.map((e) => e.name), ['data', 'compute', 'comm', 'optim']);
  assert.deepEqual(phases.map((e) => e.dur), [5000, 100_000, 30_000, 2500]);
  for (let i = 1; i < phases.length; i++) assert.equal(phases[i].ts, phases[i - 1].ts + (phases[i - 1].dur ?? 0));
  assert.ok(phases[3].ts + (phases[3].dur ?? 0) <= 10_000_000);
  assert.deepEqual(ev.find((e) => e.ph === 'C')?.args, { imgsPerSec: 3.5 });
}));

test('span() records around async work, even when it throws', withDir(async (dir) => {
  const path = join(dir, 'trace.json');
  const w = new TraceWriter({ path, rank: 2 });
  assert.equal(await w.span('allreduce', async () => 42), 42);
  await assert.rejects(w.span('optim', () => { throw new Error('boom'); }), /boom/);
  w.close();
  const names = spans(readTraceFile(path)).map((e) => e.name);
  assert.deepEqual(names, ['allreduce', 'optim']);
}));

test('maxEvents truncates with one marker instead of growing without bound', withDir((dir) => {
  const path = join(dir, 'trace.json');
  const w = new TraceWriter({ path, rank: 0, maxEvents: 10, flushEvery: 3, nowUs: () => 1 });
  for (let i = 0; i < 50; i++) w.complete('x', i, 1);
  w.close();
  const ev = readTraceFile(path);
  assert.equal(ev.length, 11);
  assert.match(ev[10].name, /trace truncated after 10 events/);
}));

test('merged traces keep one pid per rank; broken files are named', withDir((dir) => {
  const paths = [0, 1, 2].map((r) => {
    const p = join(dir, `r${r}`, 'trace.json');
    const w = new TraceWriter({ path: p, rank: r, nowUs: () => 5 });
    w.complete('compute', 0, 10 + r);
    w.close();
    return p;
  });
  const out = join(dir, 'merged.json');
  assert.equal(mergeTraceFiles(paths, out), 12);
  const pids = new Set(spans(readTraceFile(out)).map((e) => e.pid));
  assert.deepEqual([...pids].sort(), [0, 1, 2]);
  assert.throws(() => readTraceFile(join(dir, 'missing.json')), (e: Error) => e instanceof TraceError && /missing\.json/.test(e.message));
}));
