// One rank in its own process, driven over IPC by test/dist/ring-process.test.ts.
// mode 'thread': ring I/O in a worker thread over a SharedArrayBuffer (RingThread);
// mode 'inline': ring I/O on this process's main thread (RingCommunicator).
import { PeerServer } from '../../src/comm/peer-server.js';
import { RingCommunicator } from '../../src/comm/ring-communicator.js';
import { RingThread } from '../../src/comm/ring-thread.js';
import type { AllReducer, RingConfig } from '../../src/comm/allreduce-types.js';
import { markNonFinite } from '../../src/comm/non-finite.js';
import { countWrong, integerData, referenceSum } from './ring-harness.js';

export type ChildCommand =
  | { type: 'configure'; config: Omit<RingConfig, 'transport'> }
  | { type: 'run'; step: number; length: number; op?: 'sum' | 'mean'; blockMainMs?: number; nanOnRank?: number }
  | { type: 'exit' };

export type ChildReport =
  | { type: 'listening'; address: string }
  | { type: 'configured' }
  | { type: 'started' }
  | { type: 'result'; ms: number; wrong: number; maxAbs: number; nonFinite: boolean; error?: { name: string; message: string; code?: number } };

const mode = process.argv[2] === 'inline' ? 'inline' : 'thread';
const send = (m: ChildReport) => process.send!(m);

let thread: RingThread | null = null;
let server: PeerServer | null = null;
let reducer: AllReducer | null = null;
let worldSize = 1;

if (mode === 'thread') {
  thread = await RingThread.start({ host: '127.0.0.1', port: 0 });
  send({ type: 'listening', address: thread.address });
} else {
  server = await PeerServer.listen('127.0.0.1', 0);
  send({ type: 'listening', address: server.address });
}

process.on('message', (cmd: ChildCommand) => {
  void handle(cmd);
});
process.on('disconnect', () => process.exit(0));

async function handle(cmd: ChildCommand): Promise<void> {
  if (cmd.type === 'configure') {
    worldSize = cmd.config.worldSize;
    if (thread) {
      await thread.configure(cmd.config);
      reducer = thread;
    } else {
      reducer = new RingCommunicator(server!, cmd.config);
    }
    send({ type: 'configured' });
  } else if (cmd.type === 'run') {
    const rank = reducer!.rank;
    const flagged = cmd.nanOnRank !== undefined;
    const len = cmd.length + (flagged ? 1 : 0);
    const buf = thread ? new Float32Array(new SharedArrayBuffer(len * 4)) : new Float32Array(len);
    buf.set(integerData(rank, cmd.length, cmd.step));
    if (flagged) {
      if (rank === cmd.nanOnRank) buf[0] = NaN;
      markNonFinite(buf);
    }
    const t0 = performance.now();
    const pending = reducer!.allReduce(buf, { step: cmd.step, layoutHash: 'child-layout', op: cmd.op, nonFiniteFlag: flagged });
    send({ type: 'started' });
    if (cmd.blockMainMs) {
      // Stand-in for a TF.js kernel that holds the main thread.
      const until = performance.now() + cmd.blockMainMs;
      while (performance.now() < until);
    }
    try {
      const res = await pending;
      const ms = performance.now() - t0;
      const ref = referenceSum(Array.from({ length: worldSize }, (_, r) => integerData(r, cmd.length, cmd.step)));
      if (cmd.op === 'mean') for (let i = 0; i < ref.sum.length; i++) ref.sum[i] /= worldSize;
      const { wrong, maxAbs } = flagged ? { wrong: 0, maxAbs: 0 } : countWrong(buf.subarray(0, cmd.length), ref.sum, null, 0, cmd.op === 'mean' ? 2 ** -23 : 0);
      send({ type: 'result', ms, wrong, maxAbs, nonFinite: res.nonFinite });
    } catch (e) {
      const err = e as Error & { code?: number };
      send({ type: 'result', ms: performance.now() - t0, wrong: -1, maxAbs: NaN, nonFinite: false, error: { name: err.name, message: err.message, code: err.code } });
    }
  } else {
    await thread?.close();
    if (reducer instanceof RingCommunicator) reducer.close();
    await server?.close(200);
    process.exit(0);
  }
}
