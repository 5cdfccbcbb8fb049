// One coordinator run from a config file: resolve the config, create the run directory,
// generate the synthetic dataset on first use, listen, show progress, and when the run
// ends print the per-class IoU table of the last evaluation. Used by `pipa coordinator`
// and `pipa local` (which also launches the workers).
import type { Logger } from 'pino';
import { formatIouTable } from '../common/iou-table.js';
import { writeReport } from '../report/build-report.js';
import { PipaMetrics, startMetricsServer, type MetricsServer } from '../common/metrics.js';
import { Progress } from '../common/progress.js';
import { configToYaml, loadConfig } from '../config/load.js';
import { CLASS_NAMES } from '../data/index.js';
import { startHealthServer, type HealthServer } from './health-server.js';
import { createRunDir, defaultWorkDir, runLogger, type RunDir } from './run-dir.js';
import { Coordinator, type RunOutcome } from './server.js';
import { ensureSyntheticData } from './synthetic-data.js';

export interface CoordinatorRunOptions {
  configPath: string;
  overrides: readonly string[];
  workers: number;
  host: string;
  port: number;
  workDir?: string;
  /** Serve Prometheus metrics (GET /metrics) on this port of `host`; 0 = any free port. */
  metricsPort?: number;
  /** Serve the grpc.health.v1 Health service (plain text) on this port of `host`, for Kubernetes probes. */
  healthPort?: number;
  logLevel: string;
  pretty: boolean;
  tty: boolean;
  /** Where the final table goes (stdout in the CLI). */
  out: { write(s: string): unknown };
}

export interface CoordinatorRun {
  coordinator: Coordinator;
  runDir: RunDir;
  log: Logger;
  address: string;
  /** The /metrics URL when metricsPort was given. */
  metricsUrl: string | null;
  /** host:port of the Health service when healthPort was given. */
  healthAddress: string | null;
  /** Resolves when the run finished or failed; the server is closed by then. */
  done: Promise<RunOutcome>;
}

export async function startCoordinatorRun(o: CoordinatorRunOptions): Promise<CoordinatorRun> {
  const { config, hash } = loadConfig(o.configPath, o.overrides);
  const runDir = createRunDir(o.workDir ?? defaultWorkDir(config), config, hash);
  const log = runLogger(runDir, { level: o.logLevel, pretty: o.pretty });
  log.info({ config: o.configPath, hash, runDir: runDir.root, workers: o.workers }, 'coordinator starting');
  await ensureSyntheticData(config, log);
  const classNames = CLASS_NAMES.slice(0, config.model.numClasses);
  let bar: Progress | null = null;
  const metrics = o.metricsPort === undefined ? undefined : new PipaMetrics({ role: 'coordinator' });
  const coordinator = new Coordinator({
    config, configHash: hash, configYaml: configToYaml(config), runDir, workers: o.workers, log, host: o.host, port: o.port, classNames,
    onStep: (r) => {
      bar ??= new Progress({ label: 'train', total: coordinator.endStep, unit: 'step', start: r.step - 1, tty: o.tty, log, logIntervalMs: 10_000 });
      bar.update(r.step, { loss: r.loss.loss, imgsPerSec: r.imgsPerSec, commPct: (100 * r.ms.comm) / Math.max(1e-9, r.ms.total) });
      if (r.step % config.train.logInterval === 0 || r.step === coordinator.endStep) {
        log.info({ step: r.step, world: r.world, loss: r.loss.loss, lr: r.lr, ms: r.ms, imgsPerSec: r.imgsPerSec }, 'step');
      }
    },
    onEval: (r) => log.info({ step: r.step, miou: r.metrics.mIoU, images: r.images }, 'evaluation summed over ranks'),
    metrics,
  });
  const address = await coordinator.listen();
  let metricsServer: MetricsServer | null = null;
  let healthServer: HealthServer | null = null;
  try {
    if (o.healthPort !== undefined) {
      healthServer = await startHealthServer(o.healthPort, o.host, ['pipa.v1.Coordinator'], () => (coordinator.phase === 'failed' ? 'NOT_SERVING' : 'SERVING'));
      log.info({ address: healthServer.address }, 'serving grpc.health.v1 Health');
    }
    if (metrics) {
      metricsServer = await startMetricsServer(metrics.registry, o.metricsPort as number, o.host);
      log.info({ url: metricsServer.url }, 'serving Prometheus metrics');
    }
  } catch (e) {
    await healthServer?.close();
    await coordinator.close();
    throw e;
  }
  log.info({ address, waitingFor: o.workers }, `coordinator listening; start workers with: pipa worker --coordinator ${address}`);
  const done = coordinator.outcome.then(async (outcome) => {
    bar?.finish();
    const last = coordinator.evals.results.at(-1);
    if (last) o.out.write(`\nPer-class IoU on the target validation set (step ${last.step}, ${last.images} images, ${coordinator.membership.current?.members.length ?? '?'} ranks):\n${formatIouTable(last.metrics, classNames)}\n`);
    o.out.write(outcome.ok ? `run finished: ${outcome.steps} steps; run dir ${runDir.root}\n` : `run failed: ${outcome.reason}; run dir ${runDir.root}\n`);
    // The self-contained report of the run (curves, IoU table, per-rank throughput); a failure
    // to render it must not turn a finished run into a failed one.
    try {
      const report = writeReport(runDir.root);
      o.out.write(`report: ${report.path}\n`);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'could not write report.html');
    }
    // Give the workers a moment to read their Stop before the server goes away.
    await new Promise((r) => setTimeout(r, 200));
    await coordinator.close();
    await metricsServer?.close();
    await healthServer?.close();
    return outcome;
  });
  return { coordinator, runDir, log, address, metricsUrl: metricsServer?.url ?? null, healthAddress: healthServer?.address ?? null, done };
}
