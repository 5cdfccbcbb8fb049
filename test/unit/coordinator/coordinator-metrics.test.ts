// `pipa coordinator --metrics-port`: startCoordinatorRun serves /metrics and the Coordinator
// feeds it from what it sees — a worker's session (pipa_workers_alive), the generation it
// starts (pipa_generation), step reports (pipa_step, pipa_loss, per-rank gauges) and the
// summed evaluation (pipa_eval_miou). A stub worker speaks the real Coordinator protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConfusionMatrix } from '../../../src/common/confusion-matrix.js';
import { loadConfig } from '../../../src/config/load.js';
import { startCoordinatorRun } from '../../../src/coordinator/run.js';
import { coordinatorClientConstructor, controlChannelOptions, type SessionDown } from '../../../src/coordinator/wire.js';
import { ENGINE_CONFIG, tinyRunOverrides } from '../../dist/engine-fixture.js';

/** Value of one series in Prometheus text (labels given as they appear, e.g. 'term="loss"'). */
function series(text: string, name: string, label = ''): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.indexOf('}'));
    if (label && !labels.split(',').includes(label)) continue;
    return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return null;
}

async function until<T>(what: string, f: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('coordinator --metrics-port serves pipa_* series fed by sessions, steps and evaluations', { timeout: 60_000 }, async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'pipa-coord-metrics-'));
  // Data roots are never read: the coordinator does not load data when synthetic data is off.
  const overrides = tinyRunOverrides(join(workDir, 'no-data'), 3);
  const { config, hash } = loadConfig(ENGINE_CONFIG, overrides);
  const run = await startCoordinatorRun({
    configPath: ENGINE_CONFIG, overrides, workers: 1, host: '127.0.0.1', port: 0, workDir: join(workDir, 'run'),
    metricsPort: 0, logLevel: 'silent', pretty: false, tty: false, out: { write: () => true },
  });
  const Client = coordinatorClientConstructor();
  const client = new Client(run.address, grpc.credentials.createInsecure(), controlChannelOptions);
  try {
    assert.match(run.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const get = async () => {
      const res = await fetch(run.metricsUrl!);
      assert.equal(res.status, 200);
      return res.text();
    };
    const before = await get();
    assert.equal(series(before, 'pipa_workers_alive'), 0);
    assert.equal(series(before, 'pipa_generation'), 0);

    const call = <T>(method: string, req: unknown) =>
      new Promise<T>((resolve, reject) =>
        (client[method] as (r: unknown, cb: (e: Error | null, v: T) => void) => void).call(client, req, (e, v) => (e ? reject(e) : resolve(v))));
    const joined = await call<{ worker_id: string }>('Join', { host: 'stub', pid: 1, peer_address: '127.0.0.1:1', backend: 'cpu', config_hash: hash, layout_hash: 'stub-layout' });
    const session = (client.Session as () => grpc.ClientDuplexStream<unknown, SessionDown>).call(client);
    const down: SessionDown[] = [];
    session.on('data', (m: SessionDown) => down.push(m));
    session.on('error', () => {});
    session.write({ hello: { worker_id: joined.worker_id } });
    const start = await until('the generation to start', async () => down.find((m) => m.kind === 'start') ?? null);
    assert.equal(start.kind, 'start');
    const generation = start.kind === 'start' ? Number(start.start.generation) : -1;
    const started = await get();
    assert.equal(series(started, 'pipa_workers_alive'), 1);
    assert.equal(series(started, 'pipa_generation'), generation);

    session.write({ step: { generation, step: 1, lr: 0.002, loss: { loss: 1.25, 'decode.loss_seg': 0.75 }, ms: { data: 50, compute: 300, comm: 100, optim: 50, total: 500 }, images: 2, skipped: false } });
    const stepped = await until('pipa_step 1', async () => {
      const t = await get();
      return series(t, 'pipa_step') === 1 ? t : null;
    });
    assert.equal(series(stepped, 'pipa_loss', 'term="loss"'), 1.25);
    assert.equal(series(stepped, 'pipa_loss', 'term="decode.loss_seg"'), 0.75);
    assert.equal(series(stepped, 'pipa_learning_rate'), 0.002);
    assert.equal(series(stepped, 'pipa_world_size'), 1);
    assert.equal(series(stepped, 'pipa_rank_images_per_second', 'rank="0"'), 4, '2 images in 0.5 s');
    assert.equal(series(stepped, 'pipa_rank_step_phase_seconds', 'phase="comm"'), 0.1);
    assert.equal(series(stepped, 'pipa_steps_total'), 1);

    const cm = new ConfusionMatrix(config.model.numClasses).add([0, 0, 1, 1], [0, 1, 1, 1]);
    await call('ReportEval', { worker_id: joined.worker_id, generation, step: 1, rank: 0, confusion_json: JSON.stringify(cm.toJSON()), images: 1 });
    const evaluated = await get();
    assert.equal(series(evaluated, 'pipa_eval_miou'), cm.metrics().mIoUPercent);
    assert.ok(cm.metrics().mIoUPercent > 0);
    console.log(`  /metrics: workers_alive 1, generation ${generation}, step 1, loss 1.25, eval mIoU ${series(evaluated, 'pipa_eval_miou')}`);

    session.write({ done: { generation, step: 3 } });
    const outcome = await run.done;
    assert.equal(outcome.ok, true);
    session.end();
    await assert.rejects(fetch(run.metricsUrl!), 'the metrics server closes with the run');
  } finally {
    run.coordinator.fail('test cleanup');
    client.close();
    await run.done;
    rmSync(workDir, { recursive: true, force: true });
  }
});
