import type { CommandModule } from 'yargs';
import { CoordinatorClient } from '../worker/coordinator-client.js';

interface Args {
  coordinator: string;
  timeout: number;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'print the state of a run as JSON: generation, step, and every worker (rank, id, host, pid, state, last step, recent step time)',
  builder: (y) =>
    y
      .option('coordinator', { type: 'string', demandOption: true, describe: 'HOST:PORT of the coordinator' })
      .option('timeout', { type: 'number', default: 10_000, describe: 'deadline in ms' }) as any,
  handler: async (a) => {
    const client = new CoordinatorClient(a.coordinator);
    try {
      const s = await client.status(a.timeout);
      const workers = s.workers.map((w) => ({
        rank: w.rank < 0 ? null : w.rank, id: w.id, host: w.host, pid: w.pid, state: w.state, lastStep: w.last_step,
        recentStepMs: Math.round(w.recent_step_ms * 10) / 10, peer: w.peer_address, secondsSinceHeartbeat: Math.round(w.seconds_since_heartbeat * 10) / 10,
      }));
      const out = { phase: s.phase, generation: s.generation, step: s.step, endStep: s.end_step, lastMiou: s.last_miou < 0 ? null : s.last_miou, runDir: s.run_dir, workers };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } finally {
      client.close();
    }
  },
};
