import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../../src/data/png/decode.js';
import { CLASS_PALETTE, CLASS_NAMES } from '../../src/data/labels.js';
import { writeReport } from '../../src/report/build-report.js';
import { downsample, parseRunRecords, RunRecordsError } from '../../src/report/run-records.js';
import { SampleError, listSamples, writeSample } from '../../src/report/samples.js';
import { lineChart, niceTicks } from '../../src/report/svg-chart.js';
import { iouAt, makeFixtureRun } from './report-run-fixture.js';

function withDir(fn: (dir: string) => void) {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-report-'));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('metrics.jsonl: global vs per-rank steps, evals as percent, bad lines counted not fatal', () => {
  const text = [
    '{"type":"step","step":0,"world":2,"loss":{"a":1,"b":null},"lr":1e-5,"ms":{"total":10,"comm":2},"imgsPerSec":4}',
    '{"type":"step","step":0,"rank":1,"ms":{"total":12,"comm":3},"imgsPerSec":1.5}',
    'garbage',
    '',
    '{"type":"eval","step":1,"miou":0.5,"iou":[0.25,null,0.75],"classes":["x","y","z"]}',
    '{"type":"eval","step":2,"miou":55,"iou":[50,60]}',
    '{"type":"weird","step":3}',
    '{"type":"eval","step":4,"miou":null,"iou":[null,null]}',
    '{"type":"step","step":5,"world":2,"loss":{},"lr":1e-5,"ms":{},"skipped":true}',
    '[1,2]',
  ].join('\n');
  const s = parseRunRecords(Buffer.from(text));
  assert.deepEqual(s.loss.get('a'), [[0, 1]]);
  assert.equal(s.loss.has('b'), false);
  assert.deepEqual(s.lr, [[0, 1e-5], [5, 1e-5]]);
  assert.deepEqual(s.phaseMs.get('comm'), [[0, 2]]);
  assert.deepEqual(s.rankImgsPerSec.get(1), [[0, 1.5]]);
  assert.deepEqual(s.rankPhaseTotals.get(1), { n: 1, ms: { total: 12, comm: 3 } });
  assert.equal(s.worlds.get(2), 2);
  assert.equal(s.lastStep, 5, 'per-rank and eval records do not move the last iteration');
  assert.equal(s.skippedSteps, 1);
  assert.ok(Number.isNaN(s.evals[2].miou), 'an eval without labelled pixels keeps its place');
  assert.deepEqual(s.evals[0], { step: 1, miou: 50, iou: [25, null, 75], classes: ['x', 'y', 'z'] });
  assert.deepEqual(s.evals[1], { step: 2, miou: 55, iou: [50, 60], classes: ['class 0', 'class 1'] });
  assert.equal(s.lines, 9);
  assert.equal(s.badLines.count, 3);
  assert.equal(s.badLines.firstLine, 3);
  assert.match(s.badLines.firstError ?? '', /not JSON/);
});

test('downsample keeps at most maxPoints and the mean of the data', () => {
  const pts = Array.from({ length: 10_000 }, (_, i): [number, number] => [i, Math.sin(i / 300) + i / 1000]);
  const d = downsample(pts, 400);
  assert.equal(d.length, 400);
  const mean = (a: readonly (readonly [number, number])[]) => a.reduce((s, p) => s + p[1], 0) / a.length;
  assert.ok(Math.abs(mean(d) - mean(pts)) < 1e-9, `${mean(d)} vs ${mean(pts)}`);
  assert.deepEqual(d[0], [12, pts.slice(0, 25).reduce((s, p) => s + p[1], 0) / 25]);
  assert.equal(downsample(pts.slice(0, 5), 400).length, 5);
});

test('nice ticks and the automatic log axis', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 97, 5), [20, 40, 60, 80]);
  const wide = lineChart([{ name: 'fd', points: [[0, 0.002], [1, 1.5]] }], { title: 't', xLabel: 'x', yLabel: 'loss' });
  assert.match(wide, /loss \(log\)/);
  const narrow = lineChart([{ name: 'ce', points: [[0, 0.5], [1, 1.5]] }], { title: 't', xLabel: 'x', yLabel: 'loss' });
  assert.doesNotMatch(narrow, /\(log\)/);
  assert.match(lineChart([], { title: 'T<&>', xLabel: 'x', yLabel: 'y' }), /T&lt;&amp;&gt;.*no data recorded/);
  // Every opened element is closed (a cheap well-formedness check).
  const open = (narrow.match(/<(svg|path|text|title)\b/g) ?? []).length;
  const close = (narrow.match(/<\/(svg|path|text|title)>/g) ?? []).length;
  assert.equal(open, close);
});

test('writeSample writes palette PNGs that decode back to the labels', withDir((dir) => {
  const W = 5;
  const H = 3;
  const image = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 7) % 256);
  const pred = Uint8Array.from({ length: W * H }, (_, i) => i % 19);
  const gt = Uint8Array.from({ length: W * H }, (_, i) => (i % 4 === 0 ? 255 : (i * 3) % 19));
  const files = writeSample(dir, 'it000100_x', { width: W, height: H, image, pred, gt });
  assert.equal(files.length, 3);
  const p = decodePng(readFileSync(join(dir, 'it000100_x.pred.png')));
  assert.equal(p.colorType, 3);
  assert.deepEqual([...p.samples], [...pred]);
  assert.deepEqual([...(p.palette ?? new Uint8Array(0)).subarray(13 * 3, 14 * 3)], [...CLASS_PALETTE[13]]);
  assert.deepEqual([...(p.palette ?? new Uint8Array(0)).subarray(255 * 3)], [0, 0, 0], 'ignore is black');
  assert.deepEqual([...decodePng(readFileSync(join(dir, 'it000100_x.image.png'))).samples], [...image]);
  assert.throws(() => writeSample(dir, 'bad', { width: W, height: H, image, pred: pred.subarray(1), gt }), SampleError);
  assert.throws(() => writeSample(dir, '../up', { width: W, height: H, image, pred, gt }), /must be/);
  writeFileSync(join(dir, 'panel.png'), 'not a png');
  assert.deepEqual(listSamples(dir).map((r) => [r.name, Object.keys(r.files).sort()]), [
    ['it000100_x', ['gt', 'image', 'pred']],
    ['panel', ['panel']],
  ]);
}));

test('report.html is self-contained and shows what the run recorded', withDir((dir) => {
  const run = makeFixtureRun(join(dir, 'run'), { samples: 3 });
  const r = writeReport(run.dir, { maxSamples: 2, now: new Date('2025-01-02T03:04:05Z') });
  assert.equal(r.path, join(run.dir, 'report.html'));
  const html = readFileSync(r.path, 'utf8');
  assert.equal(r.bytes, Buffer.byteLength(html));
  // No network: every src/href is a data: URI; the only URL is the SVG namespace.
  for (const m of html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)) assert.match(m[1], /^data:image\/png;base64,/);
  assert.deepEqual([...new Set(html.match(/https?:\/\/[^\s"'<>)]+/g))], ['http://www.w3.org/2000/svg']);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:/);
  assert.doesNotMatch(html, /@import|url\(/);
  // Title from config.yaml, five charts, the last two sample rows, the corrupt line reported.
  assert.match(html, /<h1>fixture_gta2cs<\/h1>/);
  assert.equal((html.match(/<svg [^>]*class="chart"/g) ?? []).length, 6, 'loss, accuracy, lr, mIoU, throughput, phases');
  assert.match(html, /aria-label="Pixel accuracy on training batches".*decode\.acc_seg/);
  assert.doesNotMatch(html.split('aria-label="Pixel accuracy')[0], /decode\.acc_seg/, 'accuracies are not drawn as losses');
  assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 6);
  assert.ok(html.includes(run.sampleNames[1]) && html.includes(run.sampleNames[2]) && !html.includes(run.sampleNames[0]));
  const corruptLine = run.steps * (1 + run.ranks) + run.evals.length + 1;
  assert.match(html, new RegExp(`1 line\\(s\\) of metrics\\.jsonl could not be read.*line ${corruptLine}:`, 's'));
  assert.match(html, /2025-01-02T03:04:05\.000Z/);
  // Per-class table: the last evaluation's IoU in percent, computed here from the fixture's formula.
  const e = run.evals.length - 1;
  for (const [c, name] of CLASS_NAMES.entries()) {
    const v = iouAt(e, c);
    const cell = v === null ? '–' : (v * 100).toFixed(2);
    assert.ok(html.includes(`<td class="name">${name}</td><td>${cell}</td>`), `${name}: ${cell}`);
  }
  const best = run.evals.reduce((a, b) => (b.miou > a.miou ? b : a));
  assert.ok(html.includes(`${(best.miou * 100).toFixed(2)} % at iteration ${best.step}`));
  // Per-rank table: the last rank is 1.5× slower by construction.
  assert.match(html, new RegExp(`<tr class="slow"><td class="name">rank ${run.ranks - 1} \\(slowest\\)</td><td>${run.steps}</td><td>1\\.20</td><td>1650</td>`));
  assert.match(html, /<td class="name">rank 0<\/td><td>300<\/td><td>1\.80<\/td><td>1100<\/td><td>1\.8<\/td><td>81\.8<\/td><td>13\.6<\/td><td>2\.7<\/td>/);
  assert.match(html, /world sizes<\/td><td>1 \(150 steps\), 2 \(150 steps\)/);
}));

test('a folder without metrics.jsonl is named in the error', withDir((dir) => {
  assert.throws(() => writeReport(dir), (e: Error) => e instanceof RunRecordsError && e.message.includes(join(dir, 'metrics.jsonl')));
}));
