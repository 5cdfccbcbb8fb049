import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatDuration } from '../../src/common/progress.js';

function fakeStream(columns = 120) {
  const out: string[] = [];
  return { out, stream: { columns, write: (s: string) => out.push(s) } };
}

test('formatDuration', () => {
  assert.equal(formatDuration(9.4), '9s');
  assert.equal(formatDuration(65), '1m05s');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(90000), '1d01h');
  assert.equal(formatDuration(null), '?');
  assert.equal(formatDuration(Infinity), '?');
});

test('TTY: one redrawn line with rate, ETA and the training fields; newline at the end', () => {
  let now = 0;
  const { out, stream } = fakeStream();
  const p = new Progress({ label: 'train', total: 100, unit: 'step', tty: true, stream, nowMs: () => now, renderIntervalMs: 1000 });
  for (let i = 1; i <= 10; i++) {
    now += 500; // 2 steps/s
    p.update(i, { imgsPerSec: 4, commPct: 12.4, slowestRank: 3 });
  }
  // Redraws are throttled to one per second of the fake clock.
  assert.equal(out.length, 5);
  const last = out[out.length - 1];
  assert.ok(last.startsWith('\r\x1b[2K'), 'clears and redraws in place');
  assert.ok(!last.endsWith('\n'));
  const s = p.snapshot();
  assert.equal(s.rate, 2);
  assert.equal(s.etaS, 45);
  assert.ok(last.startsWith('\r\x1b[2K'));
  assert.match(last.slice(5), /^train \[###\.+\] 9\/100 9\.0% 2\.00 step\/s ETA 46s \| 4\.00 img\/s \| comm 12% \| slowest r3$/);
  assert.match(p.line(119), /^train \[###\.+\] 10\/100 10\.0% 2\.00 step\/s ETA 45s \| /);
  p.finish();
  assert.ok(out[out.length - 1].endsWith('\n'));
  p.update(50);
  assert.equal(out.length, 6, 'nothing after finish');
});

test('TTY line fits the terminal width', () => {
  const p = new Progress({ label: 'prepare-data', total: 5000, unit: 'img', tty: true, stream: fakeStream(40).stream, nowMs: () => 0 });
  for (const w of [20, 39, 80]) assert.ok(p.line(w).length <= w, `width ${w}: '${p.line(w)}'`);
});

test('non-TTY: periodic structured log lines, and a closing line', () => {
  let now = 0;
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const log = { info: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) };
  const p = new Progress({ label: 'eval', total: 500, unit: 'img', tty: false, log, logIntervalMs: 10_000, nowMs: () => now });
  for (let i = 1; i <= 100; i++) {
    now += 1000; // 1 img/s
    p.tick(1, { miou: 40 + i / 100 });
  }
  // t = 1 s logs, then every 10 s: 1, 11, …, 91 → 10 lines.
  assert.equal(lines.length, 10);
  assert.equal(lines[0].msg, 'eval progress');
  const l = lines[lines.length - 1].obj;
  assert.equal(l.progress, 'eval');
  assert.equal(l.done, 91);
  assert.equal(l.total, 500);
  assert.equal(l.rate, 1);
  assert.equal(l.etaS, 409);
  assert.equal(l.miou, 40.91);
  p.finish();
  assert.equal(lines[lines.length - 1].msg, 'eval finished');
  assert.equal(lines[lines.length - 1].obj.done, 100);
});

test('rate follows the recent window and ignores resumed work', () => {
  let now = 0;
  const p = new Progress({ label: 'train', total: 1000, start: 400, tty: false, rateWindowS: 10, nowMs: () => now });
  assert.equal(p.snapshot().rate, null);
  assert.equal(p.snapshot().etaS, null);
  for (let i = 1; i <= 20; i++) {
    now += 1000;
    p.update(400 + i); // 1 step/s for 20 s
  }
  assert.ok(Math.abs((p.snapshot().rate ?? 0) - 1) < 1e-9, 'resumed 400 steps do not inflate the rate');
  for (let i = 1; i <= 20; i++) {
    now += 1000;
    p.update(420 + 4 * i); // then 4 steps/s
  }
  const r = p.snapshot().rate ?? 0;
  assert.ok(r > 3.5 && r <= 4, `rate ${r} follows the last 10 s`);
});
