// The coordinator: the control plane of one training run, as a gRPC Coordinator service.
// It admits workers (checking the config and param-layout hashes), starts a generation
// (rank, world, ring order) when the requested number of workers has joined, watches
// heartbeats, turns step reports into metrics.jsonl lines, keeps the state rank 0 commits
// (in memory; on disk every checkpointInterval steps and at the end), sums the ranks'
// confusion counts into mIoU, and stops every worker when the run ends or fails.
// It never sees a gradient and never loads TensorFlow.js.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ConfusionMatrix } from '../common/confusion-matrix.js';
import type { PipaMetrics } from '../common/metrics.js';
import type { PipaConfig } from '../config/schema.js';
import { CheckpointStore } from './checkpoint-store.js';
import { EvalAggregator, type EvalResult } from './eval-aggregator.js';
import { Membership, MembershipError, type WorkerInfo } from './membership.js';
import { MetricsLog, StepCollector, type GlobalStepRecord } from './metrics-log.js';
import type { RunDir } from './run-dir.js';
import {
  controlChannelOptions, coordinatorService, joinChunks, stateChunks,
  type EvalReportMsg, type JoinRequest, type SessionDown, type SessionUp, type StateChunkMsg, type StatusReplyMsg,
} from './wire.js';

export interface CoordinatorOptions {
  config: PipaConfig;
  configHash: string;
  configYaml: string;
  runDir: RunDir;
  /** Workers to wait for before the first generation starts. */
  workers: number;
  log: Logger;
  host?: string;
  port?: number;
  classNames: readonly string[];
  onStep?: (r: GlobalStepRecord) => void;
  onEval?: (r: EvalResult) => void;
  /** Prometheus series fed from step reports, evaluations and membership (served by run.ts). */
  metrics?: PipaMetrics;
}

export type RunPhase = 'waiting' | 'training' | 'finished' | 'failed';
export type RunOutcome = { ok: true; steps: number } | { ok: false; reason: string };

type SessionCall = grpc.ServerDuplexStream<SessionUp, SessionDown>;

/** A gRPC status error whose message says what was wrong. */
export function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError;
}

export class Coordinator {
  readonly membership: Membership;
  readonly evals = new EvalAggregator();
  readonly store: CheckpointStore;
  readonly endStep: number;
  phase: RunPhase = 'waiting';
  /** Steps every rank has completed. */
  stepsDone = 0;
  address = '';
  private readonly server = new grpc.Server(controlChannelOptions);
  private readonly sessions = new Map<string, SessionCall>();
  private readonly metrics: MetricsLog;
  private readonly steps: StepCollector;
  private readonly done = new Set<string>();
  private layoutHash: string | null = null;
  private committed: { step: number; generation: number; data: Buffer } | null = null;
  private savedStep = -1;
  private watchdog: NodeJS.Timeout | null = null;
  private settle!: (o: RunOutcome) => void;
  readonly outcome = new Promise<RunOutcome>((r) => (this.settle = r));

  constructor(private readonly o: CoordinatorOptions) {
    const c = o.config;
    this.endStep = c.schedule.maxIters;
    this.membership = new Membership({
      targetWorkers: o.workers, minWorkers: Math.min(c.distributed.minWorkers, o.workers), maxRestarts: c.distributed.maxRestarts,
      globalBatch: c.train.globalBatch, failureTimeoutMs: c.distributed.failureTimeoutMs,
    });
    this.store = new CheckpointStore(o.runDir.checkpointsDir, c.train.keepCheckpoints, (msg, f) => o.log.warn(f, msg));
    this.metrics = new MetricsLog(o.runDir.metricsPath);
    this.steps = new StepCollector(this.metrics);
    const resumed = this.store.loadLatest(o.configHash);
    if (resumed) {
      if (resumed.meta.step >= this.endStep) {
        throw new MembershipError(`${o.runDir.root} already holds the final checkpoint (step ${resumed.meta.step} of ${this.endStep}); pick another --work-dir`);
      }
      this.committed = { step: resumed.meta.step, generation: 0, data: resumed.data };
      this.savedStep = resumed.meta.step;
      this.stepsDone = resumed.meta.step;
      this.layoutHash = (resumed.meta.extra?.layoutHash as string | undefined) ?? null;
      o.log.info({ step: resumed.meta.step, path: resumed.path }, 'resuming from checkpoint');
    }
  }

  async listen(): Promise<string> {
    this.server.addService(coordinatorService(), {
      GetRunConfig: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { config_yaml: this.o.configYaml, config_hash: this.o.configHash, run_dir: this.o.runDir.root }),
      Join: (call: grpc.ServerUnaryCall<JoinRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => this.unary(cb, () => this.join(call.request)),
      Session: (call: SessionCall) => this.session(call),
      ReportEval: (call: grpc.ServerUnaryCall<EvalReportMsg, unknown>, cb: grpc.sendUnaryData<unknown>) => this.unary(cb, () => this.reportEval(call.request)),
      PutState: (call: grpc.ServerReadableStream<StateChunkMsg, unknown>, cb: grpc.sendUnaryData<unknown>) => this.putState(call, cb),
      GetState: (call: grpc.ServerWritableStream<unknown, StateChunkMsg>) => this.getState(call),
      Status: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, this.status()),
    });
    const host = this.o.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${this.o.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.address = `${host}:${port}`;
    const every = Math.max(100, Math.floor(this.o.config.distributed.heartbeatMs / 2));
    this.watchdog = setInterval(() => this.checkLiveness(), every);
    this.watchdog.unref();
    return this.address;
  }

  private unary<T>(cb: grpc.sendUnaryData<T>, f: () => T): void {
    try {
      cb(null, f());
    } catch (e) {
      const err = e as Partial<grpc.ServiceError>;
      cb(err.code !== undefined ? (err as grpc.ServiceError) : statusError(grpc.status.INTERNAL, (e as Error).message));
    }
  }

  private join(r: JoinRequest): { worker_id: string; heartbeat_ms: number } {
    if (r.config_hash !== this.o.configHash) {
      throw statusError(grpc.status.FAILED_PRECONDITION,
        `config hash mismatch: worker ${r.host}:${r.pid} has ${r.config_hash}, coordinator has ${this.o.configHash}; run every process with the same config and --set overrides`);
    }
    if (this.layoutHash && r.layout_hash !== this.layoutHash) {
      throw statusError(grpc.status.FAILED_PRECONDITION,
        `parameter-layout hash mismatch: worker ${r.host}:${r.pid} built a model with layout ${r.layout_hash}, the run's model has ${this.layoutHash}; the workers run different code versions`);
    }
    if (this.phase !== 'waiting') {
      throw statusError(grpc.status.RESOURCE_EXHAUSTED, `the run is already ${this.phase}; workers cannot join a running generation yet`);
    }
    if (this.membership.waiting().length >= this.o.workers) {
      throw statusError(grpc.status.RESOURCE_EXHAUSTED, `the run already has the ${this.o.workers} worker(s) it waits for (--workers)`);
    }
    this.layoutHash ??= r.layout_hash;
    const w = this.membership.join({ host: r.host, pid: r.pid, peerAddress: r.peer_address, backend: r.backend });
    this.o.log.info({ worker: w.id, host: w.host, pid: w.pid, peer: w.peerAddress, backend: w.backend, joined: this.membership.waiting().length, of: this.o.workers }, 'worker joined');
    return { worker_id: w.id, heartbeat_ms: this.o.config.distributed.heartbeatMs };
  }

  private session(call: SessionCall): void {
    let id: string | null = null;
    call.on('data', (m: SessionUp) => {
      try {
        if (m.kind === 'hello') {
          this.membership.get(m.hello.worker_id);
          id = m.hello.worker_id;
          this.sessions.set(id, call);
          this.o.metrics?.setWorkersAlive(this.sessions.size);
          this.membership.heartbeat(id);
          this.maybeStart();
          return;
        }
        if (!id) throw statusError(grpc.status.FAILED_PRECONDITION, `the first Session message must be hello, got ${m.kind}`);
        this.onSessionMessage(this.membership.get(id), m);
      } catch (e) {
        const err = e instanceof MembershipError ? statusError(grpc.status.NOT_FOUND, e.message) : (e as grpc.ServiceError);
        call.emit('error', err.code !== undefined ? err : statusError(grpc.status.INTERNAL, (e as Error).message));
      }
    });
    const closed = (how: string) => {
      if (!id || this.sessions.get(id) !== call) return;
      this.sessions.delete(id);
      this.o.metrics?.setWorkersAlive(this.sessions.size);
      const w = this.membership.get(id);
      if (this.phase === 'training' && w.state === 'training' && !this.done.has(id)) {
        this.fail(`worker ${id} (rank ${w.rank}, ${w.host} pid ${w.pid}) closed its session (${how}) before the run ended`);
      } else if (this.phase === 'waiting') {
        this.membership.remove(id, 'left');
      }
    };
    call.on('end', () => {
      closed('ended');
      call.end();
    });
    call.on('error', (e) => closed(`error: ${e.message}`));
    call.on('cancelled', () => closed('cancelled'));
  }

  private onSessionMessage(w: WorkerInfo, m: SessionUp): void {
    switch (m.kind) {
      case 'heartbeat':
        this.membership.heartbeat(w.id);
        return;
      case 'step': {
        if (m.step.generation !== this.membership.generation || w.rank === null) return; // stale generation
        this.membership.reportStep(w.id, m.step.step, m.step.ms.total ?? 0);
        const rec = this.steps.add(w.rank, this.membership.current!.members.length, m.step);
        this.o.metrics?.observeStep({ step: m.step.step, rank: w.rank, ms: m.step.ms, imgsPerSec: m.step.images / Math.max(1e-9, (m.step.ms.total ?? 0) / 1000) });
        if (rec) {
          this.stepsDone = rec.step;
          this.o.metrics?.observeStep(rec);
          if (rec.skipped) this.o.metrics?.countSkippedSteps();
          this.o.onStep?.(rec);
        }
        return;
      }
      case 'done':
        this.done.add(w.id);
        this.o.log.info({ worker: w.id, rank: w.rank, steps: m.done.step }, 'worker done');
        if (this.membership.members().every((x) => this.done.has(x.id))) this.finish();
        return;
      case 'failed':
        this.fail(`worker ${w.id} (rank ${w.rank}, ${w.host} pid ${w.pid}) failed: ${m.failed.error}`);
        return;
      default:
        return;
    }
  }

  private maybeStart(): void {
    if (this.phase !== 'waiting' || !this.membership.readyToStart()) return;
    if (!this.membership.waiting().every((w) => this.sessions.has(w.id))) return;
    const plan = this.membership.formGeneration(this.stepsDone, false);
    this.phase = 'training';
    this.o.metrics?.setGeneration(plan.generation);
    const stateFrom = this.committed ? 'coordinator' : 'init';
    this.o.log.info({ generation: plan.generation, world: plan.members.length, startStep: plan.startStep, endStep: this.endStep, stateFrom, peers: plan.peers }, 'generation started');
    plan.members.forEach((id, rank) => {
      this.send(id, {
        kind: 'start',
        start: { generation: plan.generation, rank, world: plan.members.length, peers: plan.peers, start_step: plan.startStep, state_from: stateFrom, end_step: this.endStep },
      });
    });
  }

  private send(id: string, m: SessionDown): void {
    const call = this.sessions.get(id);
    if (call && !call.writableEnded) call.write(m);
  }

  private reportEval(r: EvalReportMsg): { complete: boolean } {
    const plan = this.membership.current;
    if (!plan || r.generation !== plan.generation) {
      throw statusError(grpc.status.ABORTED, `eval report of generation ${r.generation} but the current generation is ${plan?.generation ?? 'none'}`);
    }
    const w = this.membership.workers.get(r.worker_id);
    if (!w || w.rank !== r.rank) throw statusError(grpc.status.NOT_FOUND, `eval report from '${r.worker_id}' as rank ${r.rank}, which is not a rank of generation ${plan.generation}`);
    let confusion: ConfusionMatrix;
    try {
      confusion = ConfusionMatrix.fromJSON(JSON.parse(r.confusion_json));
    } catch (e) {
      throw statusError(grpc.status.INVALID_ARGUMENT, `eval report of rank ${r.rank} at step ${r.step}: ${(e as Error).message}`);
    }
    let result: EvalResult | null;
    try {
      result = this.evals.add({ step: r.step, generation: r.generation, rank: r.rank, world: plan.members.length, confusion, images: r.images });
    } catch (e) {
      throw statusError(grpc.status.INVALID_ARGUMENT, (e as Error).message);
    }
    if (result) {
      this.metrics.eval(result, this.o.classNames);
      this.o.log.info({ step: result.step, miou: result.metrics.mIoU, images: result.images }, 'evaluation');
      this.o.metrics?.observeEval({ step: result.step, miou: result.metrics.mIoUPercent });
      this.o.onEval?.(result);
    }
    return { complete: result !== null };
  }

  private putState(call: grpc.ServerReadableStream<StateChunkMsg, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    const chunks: StateChunkMsg[] = [];
    call.on('data', (c: StateChunkMsg) => chunks.push(c));
    call.on('error', () => {});
    call.on('end', () =>
      this.unary(cb, () => {
        let s: ReturnType<typeof joinChunks>;
        try {
          s = joinChunks(chunks);
        } catch (e) {
          throw statusError(grpc.status.INVALID_ARGUMENT, `PutState: ${(e as Error).message}`);
        }
        this.committed = { step: s.step, generation: s.generation, data: s.data };
        const toDisk = s.final || s.step % this.o.config.train.checkpointInterval === 0;
        if (toDisk) this.saveCommitted();
        return { step: s.step, bytes: s.data.length, saved_to_disk: toDisk };
      }),
    );
  }

  private saveCommitted(): void {
    const c = this.committed;
    if (!c || c.step === this.savedStep) return;
    const meta = this.store.save(c.step, this.o.configHash, c.data, { generation: c.generation, layoutHash: this.layoutHash, world: this.membership.current?.members.length });
    this.savedStep = c.step;
    this.o.log.info({ step: c.step, bytes: meta.bytes, dir: this.store.dir }, 'checkpoint saved');
  }

  private getState(call: grpc.ServerWritableStream<unknown, StateChunkMsg>): void {
    const c = this.committed;
    if (!c) {
      call.emit('error', statusError(grpc.status.NOT_FOUND, 'no committed state yet: start from the seeded initialisation'));
      return;
    }
    for (const chunk of stateChunks(c.data, c.step, c.generation, false)) call.write(chunk);
    call.end();
  }

  status(): StatusReplyMsg {
    const now = Date.now();
    const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);
    const last = this.evals.results.at(-1);
    return {
      generation: this.membership.generation,
      step: this.stepsDone,
      end_step: this.endStep,
      phase: this.phase,
      run_dir: this.o.runDir.root,
      last_miou: last ? last.metrics.mIoU : -1,
      workers: [...this.membership.workers.values()].map((w) => ({
        id: w.id, rank: w.rank ?? -1, host: w.host, pid: w.pid, state: this.done.has(w.id) ? 'done' : w.state, last_step: w.lastStep,
        recent_step_ms: median(w.recentStepMs), peer_address: w.peerAddress, seconds_since_heartbeat: (now - w.lastSeen) / 1000,
      })),
    };
  }

  private checkLiveness(): void {
    if (this.phase !== 'training') return;
    const silent = this.membership.silentMembers().filter((w) => !this.done.has(w.id));
    if (silent.length === 0) return;
    const t = this.o.config.distributed.failureTimeoutMs;
    const who = silent.map((w) => `${w.id} (rank ${w.rank}, ${w.host} pid ${w.pid}, last step ${w.lastStep})`).join(', ');
    this.fail(`no heartbeat for more than ${t} ms (distributed.failureTimeoutMs) from ${who}`);
  }

  private finish(): void {
    if (this.phase !== 'training') return;
    this.phase = 'finished';
    this.saveCommitted();
    this.o.log.info({ steps: this.stepsDone }, 'run finished');
    for (const id of this.sessions.keys()) this.send(id, { kind: 'stop', stop: { reason: 'finished', error: false } });
    this.settle({ ok: true, steps: this.stepsDone });
  }

  /** Ends the run with an error: every worker is told to stop; the last committed state is saved. */
  fail(reason: string): void {
    if (this.phase === 'finished' || this.phase === 'failed') return;
    this.phase = 'failed';
    this.o.log.error({ reason, step: this.stepsDone }, 'run failed');
    try {
      this.saveCommitted();
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'could not save the last committed state');
    }
    for (const id of this.sessions.keys()) this.send(id, { kind: 'stop', stop: { reason, error: true } });
    this.settle({ ok: false, reason });
  }

  async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    for (const call of this.sessions.values()) if (!call.writableEnded) call.end();
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
