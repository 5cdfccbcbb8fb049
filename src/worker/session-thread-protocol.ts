// Messages between a worker's main thread and its session thread (see session-thread.ts).
import type { SessionDown, SessionUp } from '../coordinator/wire.js';

export interface SessionThreadStart {
  address: string;
  workerId: string;
  heartbeatMs: number;
}

/** Main → thread: something to send upstream, the step for heartbeats, or close. */
export type ToSessionThread = { type: 'send'; msg: SessionUp } | { type: 'progress'; step: number } | { type: 'close' };

/** Thread → main: a coordinator command, or the stream ended (error set when it failed). */
export type FromSessionThread = { type: 'down'; msg: SessionDown } | { type: 'closed'; error: string | null };
