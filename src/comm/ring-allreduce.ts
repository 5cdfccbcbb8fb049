// One ring all-reduce over a Float32Array, pipelined chunk by chunk (schedule: ring-schedule.ts).
// The receiving half reads chunks from the left neighbour (a Ring call we opened) and adds
// (reduce-scatter) or copies (all-gather) them into the buffer; the sending half writes chunks
// to the right neighbour (the Ring call it opened on our server), each as soon as the chunk it
// forwards has been applied. Any failure — a bad fingerprint, a dead or slow peer, a deadline —
// ends both calls with the reason, so it travels around the ring in both directions and every
// rank fails promptly with a named error instead of hanging.
import * as grpc from '@grpc/grpc-js';
import { BufferPool, encodeRingChunk, type DecodedRingChunk } from './chunk-wire.js';
import type { WireCodec } from './codec.js';
import { FingerprintMismatchError, PeerUnavailableError, RingAbortedError, RingError, RingProtocolError, RingTimeoutError, statusName, type RingPhaseLabel } from './errors.js';
import type { CollectiveFingerprint } from './fingerprint.js';
import { ORIGIN_RANK_KEY, rejectCall, type OutboundCall } from './peer-server.js';
import { ringSlots, sendDependencies, type Slot } from './ring-schedule.js';

export interface CollectiveContext {
  rank: number;
  worldSize: number;
  left: { rank: number; address: string };
  right: { rank: number; address: string };
  codec: WireCodec;
  chunkElements: number;
  timeoutMs: number;
}

type Source = 'local' | 'left' | 'right';

/**
 * Message buffers shared by the collectives of this thread, per chunk capacity. Enough are kept
 * to cover what is in flight in a 32 MiB window, so steady-state sends allocate nothing:
 * fresh multi-MiB buffers cost page faults and push V8 into extra full GCs.
 */
const pools = new Map<number, BufferPool>();
function poolFor(capacity: number): BufferPool {
  let p = pools.get(capacity);
  if (!p) {
    p = new BufferPool(capacity, Math.max(8, Math.ceil((48 << 20) / capacity)));
    pools.set(capacity, p);
  }
  return p;
}

export class RingAllReduce {
  readonly done: Promise<void>;
  bytesSent = 0;
  bytesReceived = 0;

  private readonly recvSlots: Slot[];
  private readonly sendSlots: Slot[];
  private readonly deps: number[];
  private applied = 0;
  private sent = 0;
  private sendDone = false;
  private settled = false;
  private outbound: OutboundCall | null = null;
  private readonly timer: NodeJS.Timeout;
  private resolveDone!: () => void;
  private rejectDone!: (e: Error) => void;
  /** The sender waits for the receive slot it forwards; onChunk wakes it. */
  private wakeSender: (() => void) | null = null;
  /** Anything awaiting I/O is also woken when the collective fails. */
  private readonly onSettle = new Set<() => void>();

  constructor(
    private readonly ctx: CollectiveContext,
    private readonly buf: Float32Array,
    readonly fingerprint: CollectiveFingerprint,
    private readonly mean: boolean,
    private readonly inbound: grpc.ClientDuplexStream<unknown, DecodedRingChunk>,
  ) {
    const { rank, worldSize: n, chunkElements } = ctx;
    this.recvSlots = ringSlots(rank, n, buf.length, chunkElements, 'recv');
    this.sendSlots = ringSlots(rank, n, buf.length, chunkElements, 'send');
    this.deps = sendDependencies(this.sendSlots, this.recvSlots);
    this.done = new Promise<void>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => {}); // the owner awaits it; avoid an unhandled rejection in between
    this.timer = setTimeout(() => this.onTimeout(), ctx.timeoutMs);

    inbound.on('data', (chunk: DecodedRingChunk) => this.onChunk(chunk));
    inbound.on('error', (e: grpc.ServiceError) => this.onInboundError(e));
    inbound.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK && this.applied < this.recvSlots.length) {
        this.fail(new PeerUnavailableError(rank, ctx.left.rank, ctx.left.address, this.phase(), `its stream ended after ${this.applied} of ${this.recvSlots.length} chunks`), 'left');
      }
    });
    inbound.write({ hello: { fingerprint } });
    this.maybeComplete();
  }

  /** The right neighbour's Ring call for this collective (fingerprint already checked). */
  attachOutbound(out: OutboundCall): void {
    if (this.settled) return;
    this.outbound = out;
    out.onAbort = (rank, reason, code) => this.fail(new RingAbortedError(this.ctx.rank, rank, code, reason), 'right');
    out.onGone = (why) => this.fail(new PeerUnavailableError(this.ctx.rank, this.ctx.right.rank, this.ctx.right.address, this.phase(), why, grpc.status.CANCELLED), 'right');
    void this.pump(out);
  }

  /** End this collective with `err` (idempotent) and tell the neighbours that did not cause it. */
  fail(err: RingError, source: Source = 'local'): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.wakeSender?.();
    for (const wake of this.onSettle) wake();
    if (source !== 'left') {
      try {
        this.inbound.write({ abort: { rank: this.ctx.rank, reason: err.origin, code: err.code } });
        this.inbound.end();
      } catch {
        // the call is already closed
      }
      setTimeout(() => this.inbound.cancel(), 2000).unref();
    } else {
      this.inbound.cancel();
    }
    if (this.outbound && source !== 'right') rejectCall(this.outbound, err, this.ctx.rank);
    this.rejectDone(err);
  }

  // ---- receiving half -------------------------------------------------------------------

  private onChunk(chunk: DecodedRingChunk): void {
    if (this.settled) return;
    const slot = this.recvSlots[this.applied];
    try {
      if (!slot) throw new RingProtocolError(`rank ${this.ctx.rank}: rank ${this.ctx.left.rank} sent more than the ${this.recvSlots.length} chunks of the schedule`);
      this.check(chunk, slot);
    } catch (e) {
      this.fail(e as RingError, 'local');
      return;
    }
    this.bytesReceived += chunk.payload.byteLength;
    const dst = this.buf.subarray(slot.start, slot.start + slot.length);
    if (slot.phase === 'REDUCE_SCATTER') {
      this.ctx.codec.decodeAdd(chunk.payload, dst);
      if (slot.ringStep === this.ctx.worldSize - 2) this.finishOwned(dst);
    } else {
      this.ctx.codec.decodeInto(chunk.payload, dst);
    }
    this.applied++;
    this.wakeSender?.();
    this.maybeComplete();
  }

  /** This rank's segment is fully summed: scale it, and round it as every other rank will see it. */
  private finishOwned(dst: Float32Array): void {
    if (this.mean) {
      const n = this.ctx.worldSize;
      for (let i = 0; i < dst.length; i++) dst[i] /= n;
    }
    this.ctx.codec.quantize(dst);
  }

  private check(c: DecodedRingChunk, s: Slot): void {
    const fp = this.fingerprint;
    const left = this.ctx.left.rank;
    const me = this.ctx.rank;
    const agree: [string, unknown, unknown][] = [
      ['generation', fp.generation, c.generation],
      ['step', fp.step, c.step],
      ['bucket', fp.bucket, c.bucket],
      ['layout_hash', fp.layout_hash, c.layout_hash],
      ['wire_dtype', fp.wire_dtype, c.wire_dtype],
    ];
    for (const [f, mine, theirs] of agree) if (mine !== theirs) throw new FingerprintMismatchError(f, me, mine, left, theirs, 'chunk header mismatch');
    const expected: [string, unknown, unknown][] = [
      ['ring_step', s.ringStep, c.ring_step],
      ['phase', s.phase, c.phase],
      ['segment', s.segment, c.segment],
      ['offset', s.start, c.offset],
      ['byte_length', s.length * this.ctx.codec.bytesPerElement, c.byte_length],
      ['payload length', c.byte_length, c.payload.byteLength],
    ];
    for (const [f, want, got] of expected) {
      if (want !== got) throw new RingProtocolError(`rank ${me}: chunk ${this.applied} from rank ${left} has ${f} ${String(got)}, the ring schedule expects ${String(want)}`);
    }
  }

  private onInboundError(e: grpc.ServiceError): void {
    if (this.settled) return;
    const origin = e.metadata?.get(ORIGIN_RANK_KEY)?.[0];
    if (origin !== undefined) {
      this.fail(new RingAbortedError(this.ctx.rank, Number(origin), e.code, e.details), 'left');
    } else {
      const { left } = this.ctx;
      this.fail(new PeerUnavailableError(this.ctx.rank, left.rank, left.address, this.phase(), `${statusName(e.code)}: ${e.details}`, e.code), 'left');
    }
  }

  // ---- sending half ---------------------------------------------------------------------

  private async pump(out: OutboundCall): Promise<void> {
    const { codec } = this.ctx;
    const fp = this.fingerprint;
    const call = out.call;
    const pool = poolFor(this.ctx.chunkElements * codec.bytesPerElement + 512);
    for (let i = 0; i < this.sendSlots.length; i++) {
      const dep = this.deps[i];
      while (!this.settled && dep >= this.applied) await new Promise<void>((r) => (this.wakeSender = r));
      this.wakeSender = null;
      if (this.settled) return;
      const s = this.sendSlots[i];
      const { message, payload, backing } = encodeRingChunk({
        generation: fp.generation, step: fp.step, phase: s.phase, segment: s.segment, offset: s.start,
        byte_length: s.length * codec.bytesPerElement, layout_hash: fp.layout_hash, bucket: fp.bucket,
        ring_step: s.ringStep, wire_dtype: codec.dtype,
      }, pool);
      codec.encode(this.buf.subarray(s.start, s.start + s.length), payload);
      this.bytesSent += payload.byteLength;
      this.sent = i + 1;
      if (!call.write(message, () => pool.give(backing))) await this.until(call, 'drain');
      if (this.settled) return;
    }
    // Every chunk is written (copied into grpc-js' buffers). grpc-js reports 'cancelled' even
    // after a normal end, so from here on the call going away is no longer a failure.
    out.onGone = () => {};
    out.onAbort = () => {};
    call.end();
    this.sendDone = true;
    this.maybeComplete();
  }

  /** Resolves on `event` or when the collective fails, whichever comes first. */
  private until(emitter: NodeJS.EventEmitter, event: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        emitter.off(event, done);
        this.onSettle.delete(done);
        resolve();
      };
      emitter.once(event, done);
      this.onSettle.add(done);
    });
  }

  private maybeComplete(): void {
    if (this.settled || this.applied < this.recvSlots.length) return;
    if (!this.sendDone && this.sendSlots.length > 0) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolveDone();
  }

  // ---- diagnosis ------------------------------------------------------------------------

  private phase(): RingPhaseLabel {
    const s = this.recvSlots[this.applied] ?? this.sendSlots[this.sent];
    return s ? s.phase : 'ALL_GATHER';
  }

  private onTimeout(): void {
    const { rank, left, right, timeoutMs } = this.ctx;
    const total = this.recvSlots.length;
    if (this.applied < total) {
      const s = this.recvSlots[this.applied];
      this.fail(new RingTimeoutError(rank, left.rank, s.phase, `received ${this.applied} of ${total} chunks from ${left.address}; next: ring step ${s.ringStep}, segment ${s.segment}, offset ${s.start}`, timeoutMs));
    } else if (!this.outbound) {
      this.fail(new RingTimeoutError(rank, right.rank, 'CONNECT', `it never asked for its data (no Ring call from ${right.address} for step ${this.fingerprint.step} bucket ${this.fingerprint.bucket})`, timeoutMs));
    } else {
      const s = this.sendSlots[Math.min(this.sent, this.sendSlots.length - 1)];
      this.fail(new RingTimeoutError(rank, right.rank, s.phase, `it has not read our chunks (${this.sent} of ${this.sendSlots.length} sent to ${right.address})`, timeoutMs));
    }
  }
}

