import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipaMetrics, startMetricsServer } from '../../src/common/metrics.js';

/** Value of one series in Prometheus text format, matching every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

test('step, eval, membership and all-reduce observations become series', async () => {
  const m = new PipaMetrics({ role: 'coordinator', processMetrics: false });
  m.observeStep({ step: 10, world: 2, loss: { 'decode.loss_seg': 1.5, 'mix.loss_seg': 0.25, bad: null }, lr: 6e-5,
    ms: { data: 10, compute: 800, comm: 150, optim: 40, total: 1000 }, imgsPerSec: 4 });
  m.observeStep({ step: 11, world: 2, ms: { total: 2000 }, loss: { 'decode.loss_seg': 1.25 } });
  m.observeStep({ step: 11, rank: 1, ms: { comm: 300, total: 1900 }, imgsPerSec: 1.5 });
  m.observeEval({ step: 11, miou: 42.5 });
  m.setWorkersAlive(2);
  m.setGeneration(3);
  m.countRestart();
  m.countSkippedSteps(2);
  m.observeAllReduce({ bytes: 4e6, seconds: 0.01, world: 4 });
  const t = await m.text();
  assert.equal(sample(t, 'pipa_step'), 11);
  assert.equal(sample(t, 'pipa_steps_total'), 2, 'the per-rank record is not a global step');
  assert.equal(sample(t, 'pipa_loss', { term: 'decode.loss_seg' }), 1.25);
  assert.equal(sample(t, 'pipa_loss', { term: 'mix.loss_seg' }), 0.25);
  assert.equal(sample(t, 'pipa_loss', { term: 'bad' }), undefined, 'null losses are not exported');
  assert.equal(sample(t, 'pipa_learning_rate'), 6e-5);
  assert.equal(sample(t, 'pipa_images_per_second'), 4);
  assert.equal(sample(t, 'pipa_step_phase_seconds_count', { phase: 'total' }), 2);
  assert.equal(sample(t, 'pipa_step_phase_seconds_sum', { phase: 'total' }), 3);
  assert.equal(sample(t, 'pipa_step_phase_seconds_count', { phase: 'comm' }), 1);
  assert.equal(sample(t, 'pipa_step_phase_seconds_bucket', { phase: 'total', le: '1' }), 1);
  assert.equal(sample(t, 'pipa_rank_step_phase_seconds', { rank: '1', phase: 'comm' }), 0.3);
  assert.equal(sample(t, 'pipa_rank_images_per_second', { rank: '1' }), 1.5);
  assert.equal(sample(t, 'pipa_eval_miou'), 42.5);
  assert.equal(sample(t, 'pipa_workers_alive'), 2);
  assert.equal(sample(t, 'pipa_generation'), 3);
  assert.equal(sample(t, 'pipa_restarts_total'), 1);
  assert.equal(sample(t, 'pipa_skipped_steps_total'), 2);
  assert.equal(sample(t, 'pipa_allreduce_algbw_bytes_per_second'), 4e8);
  assert.equal(sample(t, 'pipa_allreduce_busbw_bytes_per_second'), 4e8 * 1.5);
  assert.equal(sample(t, 'pipa_allreduce_bytes_total'), 4e6);
  assert.equal(sample(t, 'pipa_step', { role: 'coordinator' }), 11, 'role is a default label');
});

test('two instances do not share series; worker rank is a default label', async () => {
  const a = new PipaMetrics({ role: 'worker', rank: 5, processMetrics: false });
  const b = new PipaMetrics({ role: 'worker', rank: 6, processMetrics: false });
  a.setGeneration(1);
  assert.equal(sample(await a.text(), 'pipa_generation', { role: 'worker', rank: '5' }), 1);
  assert.equal(sample(await b.text(), 'pipa_generation'), 0);
  b.observeAllReduce({ bytes: 1, seconds: 0, world: 2 }); // a zero duration is ignored, not Infinity
  assert.equal(sample(await b.text(), 'pipa_allreduce_algbw_bytes_per_second'), 0);
});

test('the HTTP server serves /metrics and /healthz on 127.0.0.1 and closes', async () => {
  const m = new PipaMetrics({ role: 'coordinator' });
  m.setWorkersAlive(7);
  const s = await startMetricsServer(m.registry, 0, '127.0.0.1');
  try {
    assert.ok(s.port > 0);
    const r = await fetch(s.url, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    const body = await r.text();
    assert.equal(sample(body, 'pipa_workers_alive'), 7);
    assert.ok(body.includes('pipa_nodejs_heap_size_used_bytes'), 'process metrics are on by default');
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/nope`)).status, 404);
    assert.equal((await fetch(s.url, { method: 'POST' })).status, 405);
    await assert.rejects(startMetricsServer(m.registry, s.port, '127.0.0.1'), /could not listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  } finally {
    await s.close();
  }
  await assert.rejects(fetch(s.url, { signal: AbortSignal.timeout(2000) }));
});
