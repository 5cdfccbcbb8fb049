// Prometheus metrics for long runs (prom-client), and a tiny HTTP server for /metrics.
// TF.js-free: the coordinator imports this. Each process owns one PipaMetrics with its own
// Registry (never prom-client's global one, so tests and several roles in one process do
// not collide); `role` and `rank` are default labels on every series.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Step phases as in metrics.jsonl's `ms` object. */
export const STEP_PHASES = ['data', 'compute', 'comm', 'optim', 'total'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/** The subset of a metrics.jsonl step record the metrics need (structurally the same type). */
export interface StepObservation {
  step: number;
  world?: number;
  loss?: Readonly<Record<string, number | null>>;
  lr?: number;
  ms?: Readonly<Partial<Record<StepPhase, number>>>;
  imgsPerSec?: number;
  /** Set when the record is one rank's own timing; absent for the global step. */
  rank?: number;
}

export interface AllReduceObservation {
  /** Bytes of the reduced buffer S (per rank). */
  bytes: number;
  seconds: number;
  world: number;
}

export interface PipaMetricsOptions {
  role: 'coordinator' | 'worker' | 'local';
  rank?: number;
  /** Process metrics (CPU, memory, event loop lag); on by default. */
  processMetrics?: boolean;
}

// Step phases span ~1 ms (optimizer on a small model) to minutes (HRDA-B5 on CPU).
const PHASE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class PipaMetrics {
  readonly registry = new Registry();
  private readonly phaseSeconds: Histogram<'phase'>;
  private readonly rankPhaseSeconds: Gauge<'rank' | 'phase'>;
  private readonly rankThroughput: Gauge<'rank'>;
  private readonly throughput: Gauge;
  private readonly loss: Gauge<'term'>;
  private readonly lr: Gauge;
  private readonly step: Gauge;
  private readonly world: Gauge;
  private readonly stepsTotal: Counter;
  private readonly workersAlive: Gauge;
  private readonly generation: Gauge;
  private readonly restarts: Counter;
  private readonly skippedSteps: Counter;
  private readonly miou: Gauge;
  private readonly allReduceSeconds: Histogram;
  private readonly allReduceBytes: Counter;
  private readonly algBandwidth: Gauge;
  private readonly busBandwidth: Gauge;

  constructor(o: PipaMetricsOptions) {
    const r = this.registry;
    r.setDefaultLabels(o.rank === undefined ? { role: o.role } : { role: o.role, rank: String(o.rank) });
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: r, prefix: 'pipa_' });
    const reg = { registers: [r] };
    this.phaseSeconds = new Histogram({
      name: 'pipa_step_phase_seconds', help: 'Wall time of one training step by phase (global step records)',
      labelNames: ['phase'], buckets: PHASE_BUCKETS, ...reg,
    });
    this.rankPhaseSeconds = new Gauge({
      name: 'pipa_rank_step_phase_seconds', help: 'Last step time of each rank by phase (spot the straggler)',
      labelNames: ['rank', 'phase'], ...reg,
    });
    this.rankThroughput = new Gauge({ name: 'pipa_rank_images_per_second', help: 'Images per second of each rank', labelNames: ['rank'], ...reg });
    this.throughput = new Gauge({ name: 'pipa_images_per_second', help: 'Global training throughput (source+target images per second)', ...reg });
    this.loss = new Gauge({ name: 'pipa_loss', help: 'Last value of each loss term', labelNames: ['term'], ...reg });
    this.lr = new Gauge({ name: 'pipa_learning_rate', help: 'Base learning rate of the last step', ...reg });
    this.step = new Gauge({ name: 'pipa_step', help: 'Last completed training iteration', ...reg });
    this.world = new Gauge({ name: 'pipa_world_size', help: 'Ranks in the current generation', ...reg });
    this.stepsTotal = new Counter({ name: 'pipa_steps_total', help: 'Training steps completed by this process', ...reg });
    this.workersAlive = new Gauge({ name: 'pipa_workers_alive', help: 'Workers currently connected and heartbeating', ...reg });
    this.generation = new Gauge({ name: 'pipa_generation', help: 'Current generation (bumped on every membership change)', ...reg });
    this.restarts = new Counter({ name: 'pipa_restarts_total', help: 'Generations formed after a failure', ...reg });
    this.skippedSteps = new Counter({ name: 'pipa_skipped_steps_total', help: 'Steps skipped because a gradient was non-finite', ...reg });
    this.miou = new Gauge({ name: 'pipa_eval_miou', help: 'mIoU (%) of the last evaluation', ...reg });
    this.allReduceSeconds = new Histogram({
      name: 'pipa_allreduce_seconds', help: 'Duration of one gradient all-reduce', buckets: PHASE_BUCKETS, ...reg,
    });
    this.allReduceBytes = new Counter({ name: 'pipa_allreduce_bytes_total', help: 'Bytes reduced (S per all-reduce)', ...reg });
    this.algBandwidth = new Gauge({ name: 'pipa_allreduce_algbw_bytes_per_second', help: 'Last all-reduce algbw = S/t', ...reg });
    this.busBandwidth = new Gauge({
      name: 'pipa_allreduce_busbw_bytes_per_second', help: 'Last all-reduce busbw = algbw*2(n-1)/n (nccl-tests definition)', ...reg,
    });
  }

  /** One metrics.jsonl step record: global ones feed the histograms, per-rank ones the rank gauges. */
  observeStep(s: StepObservation): void {
    const ms = s.ms ?? {};
    if (s.rank !== undefined) {
      const rank = String(s.rank);
      for (const p of STEP_PHASES) if (ms[p] !== undefined) this.rankPhaseSeconds.set({ rank, phase: p }, ms[p] / 1000);
      if (s.imgsPerSec !== undefined) this.rankThroughput.set({ rank }, s.imgsPerSec);
      return;
    }
    for (const p of STEP_PHASES) if (ms[p] !== undefined) this.phaseSeconds.observe({ phase: p }, ms[p] / 1000);
    for (const [term, v] of Object.entries(s.loss ?? {})) if (v !== null && Number.isFinite(v)) this.loss.set({ term }, v);
    if (s.lr !== undefined) this.lr.set(s.lr);
    if (s.imgsPerSec !== undefined) this.throughput.set(s.imgsPerSec);
    if (s.world !== undefined) this.world.set(s.world);
    this.step.set(s.step);
    this.stepsTotal.inc();
  }

  observeEval(e: { step: number; miou: number }): void {
    this.miou.set(e.miou);
  }

  setWorkersAlive(n: number): void {
    this.workersAlive.set(n);
  }

  setGeneration(g: number): void {
    this.generation.set(g);
  }

  countRestart(): void {
    this.restarts.inc();
  }

  countSkippedSteps(n = 1): void {
    this.skippedSteps.inc(n);
  }

  observeAllReduce(a: AllReduceObservation): void {
    if (!(a.seconds > 0)) return;
    const algbw = a.bytes / a.seconds;
    this.allReduceSeconds.observe(a.seconds);
    this.allReduceBytes.inc(a.bytes);
    this.algBandwidth.set(algbw);
    this.busBandwidth.set(a.world > 1 ? (algbw * 2 * (a.world - 1)) / a.world : 0);
  }

  /** The exposition text, as served on /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

export class MetricsServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsServerError';
  }
}

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text format) and GET /healthz. `host` defaults to all
 * interfaces so a Prometheus scraper in the cluster can reach it; tests pass 127.0.0.1.
 */
export async function startMetricsServer(registry: Registry, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${e.message}\n`),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new MetricsServerError(`metrics server could not listen on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    port: bound,
    url: `http://${shown}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
