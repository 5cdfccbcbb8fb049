// A small pool of worker threads running data tasks (sample loading, label conversion, synthetic
// images). size 0 runs the same handler in-process, which the tests use to show that results do not
// depend on where a task ran. Results come back with their ArrayBuffers transferred (no copy).
import { Worker } from 'node:worker_threads';
import { DataWorkerError } from './errors.js';
import { handleTask, type WorkerContext, type WorkerTask } from './handlers.js';
// sharp must be loaded by the main thread before worker threads load it (native module lifetime).
import 'sharp';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, Pending>;
}

interface Queued {
  id: number;
  task: WorkerTask;
  pending: Pending;
}

/** Starts a worker on worker-entry; under tsx (.ts sources) the worker registers tsx first. */
function spawnWorker(context: WorkerContext): Worker {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const entry = new URL(`./worker-entry${ext}`, here).href;
  if (ext === '.js') return new Worker(new URL(entry), { workerData: context });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: context });
}

export class WorkerPool {
  private slots: Slot[] = [];
  private queue: Queued[] = [];
  private nextId = 0;
  private closed = false;
  private broken: Error | null = null;

  constructor(
    readonly size: number,
    private readonly context: WorkerContext,
    private readonly maxInflightPerWorker = 2,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.startSlot());
  }

  private startSlot(): Slot {
    const slot: Slot = { worker: spawnWorker(this.context), inflight: new Map() };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: { name: string; message: string; path?: string } }) => {
      const p = slot.inflight.get(msg.id);
      if (!p) return;
      slot.inflight.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new DataWorkerError(msg.error!.name, msg.error!.message, msg.error!.path));
      this.pump();
    });
    const fail = (err: Error) => {
      this.broken = err;
      for (const p of slot.inflight.values()) p.reject(err);
      slot.inflight.clear();
      for (const q of this.queue.splice(0)) q.pending.reject(err);
    };
    slot.worker.on('error', (e) => fail(new DataWorkerError('DataWorkerError', `data worker thread failed: ${e.message}`)));
    slot.worker.on('exit', (code) => {
      if (!this.closed && code !== 0) fail(new DataWorkerError('DataWorkerError', `data worker thread exited with code ${code}`));
    });
    return slot;
  }

  /** Runs a task on the least-busy worker (or in-process when size is 0). */
  run<R>(task: WorkerTask): Promise<R> {
    if (this.closed) return Promise.reject(new DataWorkerError('DataWorkerError', 'worker pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    if (this.size === 0) return handleTask(this.context, task).then((r) => r.result as R);
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, pending: { resolve: resolve as (v: unknown) => void, reject } });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let best: Slot | null = null;
      for (const s of this.slots) if (s.inflight.size < this.maxInflightPerWorker && (!best || s.inflight.size < best.inflight.size)) best = s;
      if (!best) break;
      const q = this.queue.shift()!;
      best.inflight.set(q.id, q.pending);
      best.worker.postMessage({ id: q.id, task: q.task });
    }
    // Keep the process alive only while work is outstanding.
    for (const s of this.slots) {
      if (s.inflight.size > 0) s.worker.ref();
      else s.worker.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new DataWorkerError('DataWorkerError', 'worker pool closed');
    for (const q of this.queue.splice(0)) q.pending.reject(err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
