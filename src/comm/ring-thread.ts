// The ring in a worker thread. TF.js kernels block the main thread for seconds; if the
// ring's sockets lived there, a rank busy in backward() could not serve its neighbours and
// every deadline would be hostage to the slowest kernel. So the main thread only posts
// "all-reduce this SharedArrayBuffer region for step s" and awaits the reply; the worker
// thread owns the PeerServer and the communicator and reduces the region in place.
import { Worker } from 'node:worker_threads';
import type { AllReduceOptions, AllReduceResult, AllReducer, RingConfig } from './allreduce-types.js';
import { DEFAULT_TRANSPORT, type TransportOptions } from './channel-options.js';
import { RingConfigError } from './errors.js';
import { reviveError, type RingThreadReply, type RingThreadRequest, type RingThreadStart } from './ring-thread-protocol.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Body<T> = T extends unknown ? Omit<T, 'id'> : never;

export class RingThread implements AllReducer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private config: Omit<RingConfig, 'transport'> | null = null;
  private exited: Error | null = null;

  private constructor(private readonly worker: Worker, readonly address: string) {}

  /** Start the thread and its PeerServer on host:port (0 = any free port). */
  static async start(opts: { host?: string; port?: number; transport?: Partial<TransportOptions> } = {}): Promise<RingThread> {
    const data: RingThreadStart = { host: opts.host ?? '127.0.0.1', port: opts.port ?? 0, transport: { ...DEFAULT_TRANSPORT, ...opts.transport } };
    const worker = spawnRingWorker(data);
    const address = await new Promise<string>((resolve, reject) => {
      const onMsg = (m: RingThreadReply) => {
        worker.off('error', reject);
        if (m.ok) resolve((m.value as { address: string }).address);
        else reject(reviveError(m.error));
      };
      worker.once('message', onMsg);
      worker.once('error', reject);
    });
    const rt = new RingThread(worker, address);
    worker.on('message', (m: RingThreadReply) => rt.onReply(m));
    worker.on('error', (e) => rt.onExit(e));
    worker.on('exit', (code) => rt.onExit(new Error(`ring thread exited with code ${code}`)));
    return rt;
  }

  get rank(): number {
    return this.requireConfig().rank;
  }

  get worldSize(): number {
    return this.requireConfig().worldSize;
  }

  /** Join a generation: rank, world size, peer addresses (replaces the previous ring). */
  async configure(config: Omit<RingConfig, 'transport'>): Promise<void> {
    await this.call({ type: 'configure', config });
    this.config = config;
  }

  /** Reduce `buf` in place; it must be a view of a SharedArrayBuffer. */
  async allReduce(buf: Float32Array, opts: AllReduceOptions): Promise<AllReduceResult> {
    if (!(buf.buffer instanceof SharedArrayBuffer)) {
      throw new RingConfigError('RingThread.allReduce needs a Float32Array over a SharedArrayBuffer (the ring thread reduces it in place)');
    }
    return (await this.call({ type: 'allreduce', sab: buf.buffer, byteOffset: buf.byteOffset, length: buf.length, opts })) as AllReduceResult;
  }

  /** Fail the collectives in flight (e.g. a new generation was announced). */
  async abort(reason: string): Promise<void> {
    await this.call({ type: 'abort', reason });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await this.call({ type: 'close' }).catch(() => {});
    await this.worker.terminate();
  }

  private requireConfig(): Omit<RingConfig, 'transport'> {
    if (!this.config) throw new RingConfigError('RingThread: configure() first');
    return this.config;
  }

  private call(body: Body<RingThreadRequest>): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as RingThreadRequest);
    });
  }

  private onReply(m: RingThreadReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(reviveError(m.error));
  }

  private onExit(e: Error): void {
    this.exited ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/**
 * Start ring-thread-worker with the same extension as this module. Under tsx (.ts sources),
 * Node 20 workers do not inherit the main thread's module hooks, so a two-line bootstrap
 * registers tsx in the worker before importing the entry.
 */
function spawnRingWorker(workerData: RingThreadStart): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./ring-thread-worker.js', import.meta.url), { workerData });
  const entry = new URL('./ring-thread-worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
