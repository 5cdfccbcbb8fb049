import type { CommandModule } from 'yargs';
import { createLogger } from '../common/logger.js';
import { resolveCoordinatorTarget, type EnvRecord } from '../common/torch-env.js';
import type { BackendName } from '../model/backend.js';
import { runWorker } from '../worker/worker-main.js';
import { withBackend, withLogging } from './shared-options.js';

interface Args {
  coordinator?: string;
  backend: BackendName;
  host: string;
  peerPort: number;
  dataWorkers: number;
  logLevel: string;
  pretty?: boolean;
  tty: boolean;
  env: EnvRecord;
}

export const workerCommand: CommandModule<object, Args> = {
  command: 'worker',
  describe: 'train as one rank of a run: gets the config from the coordinator, joins, trains its share of each step',
  builder: (y) =>
    withLogging(withBackend(y))
      .option('coordinator', {
        type: 'string',
        describe: 'HOST:PORT of the coordinator (default: MASTER_ADDR:MASTER_PORT when RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT are set, as torchrun / PyTorchJob do)',
      })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address of this worker\'s Peer service (must be reachable by the other workers)' })
      .option('peer-port', { type: 'number', default: 0, describe: 'port of the Peer service (0 = any free port)' })
      .option('data-workers', { type: 'number', default: 2, describe: 'data-loading threads' }) as any,
  handler: async (a) => {
    // Throws TorchEnvError (exit 2) when neither --coordinator nor the torchrun variables are given.
    const target = resolveCoordinatorTarget(a.coordinator, a.env);
    const log = createLogger({ level: a.logLevel, pretty: a.pretty ?? a.tty, base: { component: 'worker' } });
    log.info({ coordinator: target.coordinator, from: target.source, launcherRank: target.torch?.rank, launcherWorld: target.torch?.worldSize }, 'coordinator address');
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const outcome = await runWorker({ coordinator: target.coordinator, backend: a.backend, host: a.host, peerPort: a.peerPort, dataWorkers: a.dataWorkers, log, signal: ctl.signal });
    if (outcome.ok) log.info({ steps: outcome.steps }, 'worker finished');
    else log.error({ reason: outcome.reason }, 'worker stopped');
    process.exitCode = outcome.ok ? 0 : 1;
    // grpc-js and worker threads may hold the event loop for a while; the work is done.
    setTimeout(() => process.exit(), 500).unref();
  },
};
