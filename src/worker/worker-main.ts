// The worker process: fetch the run config from the coordinator, build the model, join,
// wait for a generation, then train: this rank's slice of every step's global batch →
// UdaTrainer.step with the ring all-reduce (in its own thread) as the reduce → report the
// step. Rank 0 commits the state every commitInterval steps; every rank evaluates its
// validation shard every evalInterval steps and at the end and sends the counts.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { RingThread } from '../comm/index.js';
import { ConfigError, validateConfig } from '../config/load.js';
import type { PipaConfig } from '../config/schema.js';
import { openTrainData, openValData, TrainLoader, valSamples, valShard } from '../data/index.js';
import { selectBackend, type BackendName } from '../model/backend.js';
import { drawStep } from '../model/uda/step-draws.js';
import { UdaTrainer } from '../model/uda/uda-trainer.js';
import type { StartGenerationMsg } from '../coordinator/wire.js';
import { disposeUdaBatch, microBatchesOf } from './batch-tensors.js';
import { CoordinatorClient } from './coordinator-client.js';
import { trainDataOptionsOf, valPipelineOf } from './data-options.js';
import { evaluateSamples } from './evaluate.js';
import { loadStudentWeights } from './load-weights.js';
import { buildUdaModel, trainerOptionsOf } from './model-options.js';
import { SessionThread } from './session-thread.js';
import { encodeTrainState, loadTrainState } from './train-state.js';

export interface WorkerOptions {
  coordinator: string;
  backend: BackendName;
  /** Address the Peer service binds and advertises (the ring's data plane). */
  host: string;
  peerPort: number;
  /** Data-loading threads. */
  dataWorkers: number;
  log: Logger;
  /** Aborted on Ctrl-C / SIGTERM: the worker stops after the current step. */
  signal?: AbortSignal;
  /** How long to wait for the coordinator and for the generation to start. */
  connectTimeoutMs?: number;
  startTimeoutMs?: number;
}

export type WorkerOutcome = { ok: true; steps: number } | { ok: false; reason: string };

export class WorkerStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerStoppedError';
  }
}

export async function runWorker(o: WorkerOptions): Promise<WorkerOutcome> {
  const client = new CoordinatorClient(o.coordinator);
  let ring: RingThread | null = null;
  let session: SessionThread | null = null;
  let trainer: UdaTrainer | null = null;
  try {
    await client.waitReady(o.connectTimeoutMs ?? 60_000);
    const rc = await client.runConfig();
    const { config: c, hash } = validateConfig(parseYaml(rc.config_yaml), `the config of coordinator ${o.coordinator}`);
    const backend = await selectBackend(o.backend);
    o.log.info({ backend: backend.active, provider: backend.provider, runDir: rc.run_dir }, 'backend');
    trainer = new UdaTrainer(buildUdaModel(c), trainerOptionsOf(c));
    if (c.model.pretrained) {
      // The student starts from the ImageNet weights (the teacher copies it at step 0); the frozen
      // feature-distance model holds them for the whole run and is not part of the committed state.
      for (const store of [trainer.model.student, trainer.model.imnet]) {
        const r = loadStudentWeights(store, c.model.pretrained);
        o.log.info({ path: c.model.pretrained, kind: r.kind, loaded: r.loaded.length, missing: r.missing.length }, 'pretrained weights');
      }
    }
    ring = await RingThread.start({ host: o.host, port: o.peerPort });
    const joined = await client.join({
      host: hostname(), pid: process.pid, peer_address: ring.address, backend: backend.active, config_hash: hash, layout_hash: trainer.model.layoutHash(),
    });
    const log = o.log.child({ worker: joined.worker_id });
    log.info({ peer: ring.address }, 'joined');
    session = SessionThread.start({ address: o.coordinator, workerId: joined.worker_id, heartbeatMs: joined.heartbeat_ms });
    const first = await session.next(o.startTimeoutMs ?? 30 * 60_000);
    if (first.type === 'closed') return { ok: false, reason: `coordinator closed the session before the run started: ${first.error ?? 'ended'}` };
    if (first.msg.kind === 'stop') return stopOutcome(first.msg.stop);
    const gen = first.msg.start;
    // A Stop must not wait for a ring deadline: fail the collective in flight right away.
    const activeRing = ring;
    session.onStop = (reason) => void activeRing.abort(reason).catch(() => {});
    const glog = log.child({ rank: gen.rank, generation: gen.generation });
    await ring.configure({ rank: gen.rank, worldSize: gen.world, generation: gen.generation, peers: gen.peers });
    if (gen.state_from === 'coordinator') {
      const s = await client.getState();
      const info = loadTrainState(trainer, s.data, `state of step ${s.step} from the coordinator`);
      glog.info({ step: info.iter }, 'loaded the committed state');
    }
    if (trainer.iter !== gen.start_step) throw new WorkerStoppedError(`generation starts at step ${gen.start_step} but the loaded state is at step ${trainer.iter}`);
    const steps = await trainLoop(c, gen, trainer, ring, session, client, joined.worker_id, glog, o);
    session.send({ kind: 'done', done: { generation: gen.generation, step: steps } });
    // The coordinator answers with Stop once every rank is done.
    for (;;) {
      const m = await session.next(60_000);
      if (m.type === 'closed') return { ok: true, steps };
      if (m.msg.kind === 'stop') return m.msg.stop.error ? stopOutcome(m.msg.stop) : { ok: true, steps };
    }
  } catch (e) {
    const err = e as Error;
    session?.send({ kind: 'failed', failed: { error: `${err.name}: ${err.message}` } });
    throw err;
  } finally {
    await session?.close().catch(() => {});
    await ring?.close().catch(() => {});
    if (trainer) {
      trainer.dispose();
      trainer.model.dispose();
    }
    client.close();
  }
}

function stopOutcome(s: { reason: string; error: boolean }): WorkerOutcome {
  return s.error ? { ok: false, reason: `coordinator stopped the run: ${s.reason}` } : { ok: true, steps: -1 };
}

const due = (k: number, every: number, end: number) => k === end || k % every === 0;

async function trainLoop(
  c: PipaConfig, gen: StartGenerationMsg, trainer: UdaTrainer, ring: RingThread, session: SessionThread,
  client: CoordinatorClient, workerId: string, log: Logger, o: WorkerOptions,
): Promise<number> {
  const { rank, world } = gen;
  const perRank = c.train.globalBatch / world;
  const micro = Math.min(c.train.microBatch ?? perRank, perRank);
  if (!Number.isInteger(perRank) || perRank % micro !== 0) {
    throw new ConfigError(`train.globalBatch ${c.train.globalBatch} over ${world} ranks gives ${perRank} images per rank, which micro-batches of ${micro} do not divide`);
  }
  const data = openTrainData(trainDataOptionsOf(c));
  for (const note of data.notes) log.warn({ note }, 'data');
  const loader = new TrainLoader({
    spec: data.spec, space: data.space, globalBatch: c.train.globalBatch, rank, world, startStep: gen.start_step, workers: o.dataWorkers,
    onWarning: (w) => log.warn({ warning: w }, 'unreadable file replaced'),
  });
  const fusion = new Float32Array(new SharedArrayBuffer(4 * trainer.layout.length));
  const layoutHash = trainer.model.layoutHash();
  let k = gen.start_step;
  try {
    while (k < gen.end_step) {
      if (o.signal?.aborted) throw new WorkerStoppedError(`interrupted at step ${k}`);
      checkStop(session);
      const t0 = performance.now();
      const batch = await loader.next();
      const micros = microBatchesOf(batch, micro);
      const tData = performance.now() - t0;
      const firstMicro = (rank * perRank) / micro; // global micro-batch index: independent of the world size
      const iter = trainer.iter;
      let rep;
      try {
        rep = await trainer.step(
          micros.map((b, m) => ({ batch: b, draws: drawStep(c.seed, iter, firstMicro + m, trainer.model.segmentor, batch.height, batch.width, c.uda.blur) })),
          async (local) => {
            fusion.set(local);
            await ring.allReduce(fusion, { step: iter, layoutHash, op: 'mean', nonFiniteFlag: true });
            return fusion;
          },
        );
      } finally {
        micros.forEach(disposeUdaBatch);
      }
      k = trainer.iter;
      const ms = { data: tData, ...rep.ms, total: performance.now() - t0 };
      session.send({ kind: 'step', step: { generation: gen.generation, step: k, lr: rep.lr, loss: rep.logs, ms, images: batch.size, skipped: rep.skipped } });
      session.progress(k);
      if (rep.skipped) log.warn({ step: k }, 'non-finite gradients on some rank: step skipped on every rank');
      if (k % c.train.logInterval === 0) log.info({ step: k, loss: rep.logs.loss, ms }, 'step');
      if (rank === 0 && (due(k, c.distributed.commitInterval, gen.end_step) || k % c.train.checkpointInterval === 0)) {
        const r = await client.putState(encodeTrainState(trainer), k, gen.generation, k === gen.end_step);
        log.debug({ step: k, bytes: r.bytes, savedToDisk: r.saved_to_disk }, 'state committed');
      }
      if (due(k, c.train.evalInterval, gen.end_step)) await evaluateShard(c, gen, trainer, client, workerId, k, o.dataWorkers, log);
    }
  } finally {
    await loader.close();
  }
  return k;
}

function checkStop(session: SessionThread): void {
  for (let m = session.poll(); m; m = session.poll()) {
    if (m.type === 'closed') throw new WorkerStoppedError(`the coordinator session closed: ${m.error ?? 'ended'}`);
    if (m.msg.kind === 'stop') throw new WorkerStoppedError(`coordinator stopped the run: ${m.msg.stop.reason}`);
  }
}

async function evaluateShard(
  c: PipaConfig, gen: StartGenerationMsg, trainer: UdaTrainer, client: CoordinatorClient, workerId: string, step: number, dataWorkers: number, log: Logger,
): Promise<void> {
  const t0 = performance.now();
  const val = openValData(c.data.val.root, { split: c.data.val.split as 'val', pipeline: valPipelineOf(c) });
  const n = Math.min(val.spec.samples.length, c.data.val.limit ?? Infinity);
  const indices = valShard(n, gen.rank, gen.world);
  const cm = await evaluateSamples(trainer.model.segmentor, trainer.model.student, valSamples(val.spec, indices, { workers: dataWorkers }), { numClasses: c.model.numClasses });
  await client.reportEval({ worker_id: workerId, generation: gen.generation, step, rank: gen.rank, confusion_json: JSON.stringify(cm.toJSON()), images: indices.length });
  log.info({ step, images: indices.length, ms: Math.round(performance.now() - t0) }, 'evaluated the validation shard');
}
