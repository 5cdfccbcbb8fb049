// Helpers for the ring tests: n ranks in this process (each with its own PeerServer on
// 127.0.0.1:0), deterministic per-rank data and the float64 reference sum.
import { PeerServer } from '../../src/comm/peer-server.js';
import { RingCommunicator } from '../../src/comm/ring-communicator.js';
import type { RingConfig } from '../../src/comm/allreduce-types.js';
import { rngFor } from '../../src/common/random.js';

export interface LocalRing {
  servers: PeerServer[];
  comms: RingCommunicator[];
  /** Replace the communicators with a new generation on the same servers. */
  regenerate(generation: number, extra?: Partial<RingConfig>): void;
  close(): Promise<void>;
}

export async function localRing(n: number, extra: Partial<RingConfig> = {}): Promise<LocalRing> {
  const servers = await Promise.all(Array.from({ length: n }, () => PeerServer.listen('127.0.0.1', 0)));
  const peers = servers.map((s) => s.address);
  const make = (generation: number, more: Partial<RingConfig>) =>
    servers.map((s, rank) => new RingCommunicator(s, { rank, worldSize: n, generation, peers, timeoutMs: 10_000, ...extra, ...more }));
  const ring: LocalRing = {
    servers,
    comms: make(extra.generation ?? 1, {}),
    regenerate(generation, more = {}) {
      for (const c of ring.comms) c.close();
      ring.comms = make(generation, more);
    },
    async close() {
      for (const c of ring.comms) c.close();
      await Promise.all(servers.map((s) => s.close(200)));
    },
  };
  return ring;
}

/** Integer-valued data (exactly summable in float32 while |sum| < 2^24). */
export function integerData(rank: number, length: number, step = 0): Float32Array {
  return Float32Array.from({ length }, (_, i) => ((i * 7 + rank * 13 + step) % 2001) - 1000);
}

export function randomData(rank: number, length: number, seed = 1): Float32Array {
  const rng = rngFor(seed, 'ring-test', rank);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.normal();
  return out;
}

/** Elementwise float64 sum of the inputs, and the sum of magnitudes (for error bounds). */
export function referenceSum(inputs: Float32Array[]): { sum: Float64Array; abs: Float64Array } {
  const len = inputs[0].length;
  const sum = new Float64Array(len);
  const abs = new Float64Array(len);
  for (const x of inputs) {
    for (let i = 0; i < len; i++) {
      sum[i] += x[i];
      abs[i] += Math.abs(x[i]);
    }
  }
  return { sum, abs };
}

/** Returns how many elements of `got` differ from `want` by more than atol + rtol·scale. */
export function countWrong(got: Float32Array, want: Float64Array, scale: Float64Array | null, atol: number, rtol: number): { wrong: number; maxAbs: number } {
  let wrong = 0;
  let maxAbs = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * (scale ? scale[i] : Math.abs(want[i])))) wrong++;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = d;
  }
  return { wrong, maxAbs };
}

export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export async function settleAll<T>(ps: Promise<T>[]): Promise<{ value?: T; error?: Error; ms: number }[]> {
  const t0 = performance.now();
  return Promise.all(
    ps.map((p) =>
      p.then(
        (value) => ({ value, ms: performance.now() - t0 }),
        (error: Error) => ({ error, ms: performance.now() - t0 }),
      ),
    ),
  );
}
