import type { CommandModule } from 'yargs';
import { startCoordinatorRun } from '../coordinator/run.js';
import { withConfig, withLogging } from './shared-options.js';

interface Args {
  config: string;
  set: string[];
  host: string;
  port: number;
  workDir?: string;
  workers: number;
  metricsPort?: number;
  healthPort?: number;
  logLevel: string;
  pretty?: boolean;
  tty: boolean;
}

export const coordinatorCommand: CommandModule<object, Args> = {
  command: 'coordinator',
  describe: 'run the control plane of a training run: admits workers, starts the generation, checkpoints, aggregates evaluation',
  builder: (y) =>
    withLogging(withConfig(y))
      .option('host', { type: 'string', default: '0.0.0.0', describe: 'address to listen on' })
      .option('port', { type: 'number', default: 50051, describe: 'port to listen on (0 = any free port)' })
      .option('work-dir', { type: 'string', describe: 'run directory (default work_dirs/<name>-<time>); one holding checkpoints of the same config resumes' })
      .option('workers', { type: 'number', default: 1, describe: 'workers to wait for before training starts (must divide train.globalBatch)' })
      .option('health-port', { type: 'number', describe: 'serve the standard grpc.health.v1 Health service (plain text, for Kubernetes grpc probes) on this port of --host' })
      .option('metrics-port', { type: 'number', describe: 'serve Prometheus metrics (GET /metrics) over HTTP on this port of --host' }) as any,
  handler: async (a) => {
    const run = await startCoordinatorRun({
      configPath: a.config, overrides: a.set, workers: a.workers, host: a.host, port: a.port, workDir: a.workDir, metricsPort: a.metricsPort, healthPort: a.healthPort,
      logLevel: a.logLevel, pretty: a.pretty ?? a.tty, tty: a.tty, out: process.stdout,
    });
    const stop = () => run.coordinator.fail('coordinator interrupted (SIGINT/SIGTERM)');
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const outcome = await run.done;
    process.exitCode = outcome.ok ? 0 : 1;
  },
};
