// The all-reduce API shared by the in-thread communicator and the worker-thread one.
import type { WireDtypeOption } from './codec.js';
import type { TransportOptions } from './channel-options.js';

export interface AllReduceOptions {
  /** Training step; with `bucket` it orders collectives and is checked against every peer. */
  step: number;
  /** Which fusion buffer of the step (0 when there is one). */
  bucket?: number;
  /** Param-layout hash of the model the buffer was flattened from (checked against peers). */
  layoutHash: string;
  /** 'mean' divides the sum by the world size (on the owning rank, so all ranks agree bitwise). */
  op?: 'sum' | 'mean';
  /** The last element is a non-finite flag (0 or 1) set by the caller; see markNonFinite(). */
  nonFiniteFlag?: boolean;
  /** Overrides the communicator's deadline for this call. */
  timeoutMs?: number;
}

export interface AllReduceResult {
  /** Some rank flagged non-finite values: every rank should skip the step. */
  nonFinite: boolean;
  /** How many ranks flagged (0 when no flag element was used). */
  nonFiniteRanks: number;
  ms: number;
  bytesSent: number;
  bytesReceived: number;
  /** Received payloads read as float32/uint16 in place vs. through an aligned copy (this call's thread). */
  payloadViews: { inPlace: number; copied: number };
}

export interface AllReducer {
  readonly rank: number;
  readonly worldSize: number;
  /** Reduce `buf` in place across all ranks. */
  allReduce(buf: Float32Array, opts: AllReduceOptions): Promise<AllReduceResult>;
}

export interface RingConfig {
  rank: number;
  worldSize: number;
  generation: number;
  /** host:port of every rank's PeerServer, indexed by rank. */
  peers: string[];
  /** Payload encoding on the wire (default f32 = exact). */
  wire?: WireDtypeOption;
  /** Target payload bytes per chunk (default 1 MiB). */
  chunkBytes?: number;
  /** Default deadline of one all-reduce (default 60 s). */
  timeoutMs?: number;
  transport?: Partial<TransportOptions>;
}

export const RING_DEFAULTS = { wire: 'f32' as WireDtypeOption, chunkBytes: 1 << 20, timeoutMs: 60_000 };
