import { spawn, type ChildProcess } from 'node:child_process';
import { RING_PROCESS_ENV } from '../comm/index.js';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { startCoordinatorRun } from '../coordinator/run.js';
import type { BackendName } from '../model/backend.js';
import { withBackend, withConfig, withLogging } from './shared-options.js';

interface Args {
  config: string;
  set: string[];
  workers: number;
  port: number;
  workDir?: string;
  backend: BackendName;
  dataWorkers: number;
  logLevel: string;
  pretty?: boolean;
  tty: boolean;
  /** The environment, set by cli.ts (the only reader of process.env). */
  env: Record<string, string | undefined>;
}

const PIPA_BIN = fileURLToPath(new URL('../../bin/pipa.js', import.meta.url));

export const localCommand: CommandModule<object, Args> = {
  command: 'local',
  describe: 'train on this machine: a coordinator and N worker processes on 127.0.0.1 (worker logs in <run dir>/logs/); Ctrl-C stops all',
  builder: (y) =>
    withLogging(withBackend(withConfig(y)))
      .option('workers', { type: 'number', default: 2, describe: 'worker processes (must divide train.globalBatch)' })
      .option('port', { type: 'number', default: 0, describe: 'coordinator port (0 = any free port)' })
      .option('work-dir', { type: 'string', describe: 'run directory (default work_dirs/<name>-<time>)' })
      .option('data-workers', { type: 'number', default: 1, describe: 'data-loading threads per worker' }) as any,
  handler: async (a) => {
    const run = await startCoordinatorRun({
      configPath: a.config, overrides: a.set, workers: a.workers, host: '127.0.0.1', port: a.port, workDir: a.workDir,
      logLevel: a.logLevel, pretty: a.pretty ?? a.tty, tty: a.tty, out: process.stdout,
    });
    const children: ChildProcess[] = [];
    for (let i = 0; i < a.workers; i++) {
      const logPath = join(run.runDir.logsDir, `worker-${i}.log`);
      const fd = openSync(logPath, 'a');
      const child = spawn(
        process.execPath,
        [PIPA_BIN, 'worker', '--coordinator', run.address, '--backend', a.backend, '--data-workers', String(a.dataWorkers), '--log-level', a.logLevel, '--no-pretty'],
        // The ring's gRPC buffers need the tuned allocator, which only takes effect at process start.
        { stdio: ['ignore', fd, fd], env: { ...a.env, ...RING_PROCESS_ENV } },
      );
      closeSync(fd);
      child.on('exit', (code, signal) => {
        if (code !== 0 && run.coordinator.phase !== 'finished') {
          run.coordinator.fail(`worker process ${i} (pid ${child.pid}) exited with ${signal ?? `code ${code}`}; see ${logPath}`);
        }
      });
      children.push(child);
    }
    run.log.info({ workers: a.workers, logs: run.runDir.logsDir }, 'worker processes started');
    const interrupt = () => run.coordinator.fail('interrupted (Ctrl-C)');
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const outcome = await run.done;
    await stopChildren(children, 15_000);
    process.exitCode = outcome.ok ? 0 : 1;
  },
};

/** Waits for the workers to exit after their Stop; SIGTERM, then SIGKILL, the ones that do not. */
async function stopChildren(children: ChildProcess[], graceMs: number): Promise<void> {
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  const exited = (c: ChildProcess) => new Promise<void>((r) => (alive(c) ? c.once('exit', () => r()) : r()));
  const all = Promise.all(children.map(exited));
  const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
  if ((await Promise.race([all, timeout(graceMs)])) !== 'timeout') return;
  for (const c of children) if (alive(c)) c.kill('SIGTERM');
  if ((await Promise.race([all, timeout(5000)])) !== 'timeout') return;
  for (const c of children) if (alive(c)) c.kill('SIGKILL');
  await all;
}
