// The main thread's handle on the session thread (session-thread-worker.ts): post step
// reports and completion upstream, receive coordinator commands as a queue.
import type { Worker } from 'node:worker_threads';
import type { SessionDown, SessionUp } from '../coordinator/wire.js';
import type { FromSessionThread, SessionThreadStart, ToSessionThread } from './session-thread-protocol.js';
import { startModuleThread } from './thread-module.js';

export class SessionThread {
  private readonly inbox: FromSessionThread[] = [];
  private waiters: Array<() => void> = [];
  /** Called as soon as a Stop (or the end of the session) arrives, even while the main thread awaits a collective. */
  onStop: ((reason: string) => void) | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromSessionThread) => this.push(m));
    worker.on('error', (e) => this.push({ type: 'closed', error: `session thread crashed: ${e.message}` }));
    worker.on('exit', () => this.push({ type: 'closed', error: null }));
  }

  static start(o: SessionThreadStart): SessionThread {
    return new SessionThread(startModuleThread(import.meta.url, 'session-thread-worker', o));
  }

  private push(m: FromSessionThread): void {
    if (m.type === 'closed') this.onStop?.(`the coordinator session closed: ${m.error ?? 'ended'}`);
    else if (m.msg.kind === 'stop' && m.msg.stop.error) this.onStop?.(`coordinator stopped the run: ${m.msg.stop.reason}`);
    this.inbox.push(m);
    for (const w of this.waiters.splice(0)) w();
  }

  private post(m: ToSessionThread): void {
    this.worker.postMessage(m);
  }

  send(msg: SessionUp): void {
    this.post({ type: 'send', msg });
  }

  /** Steps completed, carried by the next heartbeats. */
  progress(step: number): void {
    this.post({ type: 'progress', step });
  }

  /** A command received so far, without waiting (null if none). */
  poll(): FromSessionThread | null {
    return this.inbox.shift() ?? null;
  }

  /** The next command; rejects after timeoutMs. */
  async next(timeoutMs: number): Promise<FromSessionThread> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.poll();
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message from the coordinator within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.post({ type: 'close' });
    await new Promise((r) => setTimeout(r, 150));
    await this.worker.terminate();
  }
}

export type { SessionDown };
