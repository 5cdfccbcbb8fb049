// Messages between the main thread (ring-thread.ts) and the ring's worker thread.
import type { AllReduceOptions, RingConfig } from './allreduce-types.js';
import type { TransportOptions } from './channel-options.js';
import { RingError } from './errors.js';

export interface RingThreadStart {
  host: string;
  port: number;
  transport?: TransportOptions;
}

export type RingThreadRequest =
  | { id: number; type: 'configure'; config: Omit<RingConfig, 'transport'> }
  | { id: number; type: 'allreduce'; sab: SharedArrayBuffer; byteOffset: number; length: number; opts: AllReduceOptions }
  | { id: number; type: 'abort'; reason: string }
  | { id: number; type: 'close' };

export type RingThreadReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  code?: number;
  origin?: string;
  fields: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
  const re = e as Partial<RingError>;
  return { name: e.name, message: e.message, code: re.code, origin: re.origin, fields };
}

/**
 * Rebuild a thrown error on the main thread: a RingError with the original name, message,
 * status code and fields (field, localRank, peerRank, phase, …). Use `.name`, not instanceof.
 */
export function reviveError(s: SerializedError): Error {
  const e = s.code !== undefined ? new RingError(s.message, s.code, s.origin) : new Error(s.message);
  Object.assign(e, s.fields);
  Object.defineProperty(e, 'name', { value: s.name, enumerable: false, writable: true, configurable: true });
  return e;
}
