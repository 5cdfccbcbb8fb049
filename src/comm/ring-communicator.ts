// One rank's membership in one generation's ring: who its neighbours are, the connection to
// its left neighbour, and the bookkeeping that pairs the right neighbour's Ring calls with
// local collectives (by step and bucket) — or refuses them when they cannot match.
import * as grpc from '@grpc/grpc-js';
import { alignmentStats, wireCodec, type WireCodec } from './codec.js';
import { DEFAULT_TRANSPORT, peerClientOptions, type TransportOptions } from './channel-options.js';
import { FingerprintMismatchError, RingConfigError, RingError } from './errors.js';
import { collectiveKey, compareFingerprints, compareKeys, type CollectiveFingerprint } from './fingerprint.js';
import { rejectCall, type OutboundCall, type PeerServer, type RingEndpoint } from './peer-server.js';
import { peerClientConstructor } from './proto.js';
import { RingAllReduce, type CollectiveContext } from './ring-allreduce.js';
import { RING_DEFAULTS, type AllReduceOptions, type AllReduceResult, type AllReducer, type RingConfig } from './allreduce-types.js';
import type { DecodedRingChunk } from './chunk-wire.js';

const RECENT_FAILURES = 64;
/** Extra time the gRPC call gets beyond the collective's own deadline, so ours fires first. */
const CALL_DEADLINE_SLACK_MS = 2000;

type Key = { step: number; bucket: number };

export class RingCommunicator implements AllReducer, RingEndpoint {
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  private readonly codec: WireCodec;
  private readonly chunkElements: number;
  private readonly timeoutMs: number;
  private readonly transport: TransportOptions;
  private readonly client: grpc.Client | null;
  private readonly left: { rank: number; address: string };
  private readonly right: { rank: number; address: string };
  private readonly active = new Map<string, RingAllReduce>();
  private readonly parked = new Map<string, OutboundCall>();
  private readonly failures = new Map<string, RingError>();
  private highest: Key | null = null;
  private closed = false;

  constructor(private readonly server: PeerServer, cfg: RingConfig) {
    const { rank, worldSize, generation, peers } = cfg;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RingConfigError(`worldSize must be a positive integer, got ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RingConfigError(`rank ${rank} is outside 0..${worldSize - 1}`);
    if (peers.length !== worldSize) throw new RingConfigError(`peers lists ${peers.length} addresses for world size ${worldSize}`);
    this.rank = rank;
    this.worldSize = worldSize;
    this.generation = generation;
    this.codec = wireCodec(cfg.wire ?? RING_DEFAULTS.wire);
    const chunkBytes = cfg.chunkBytes ?? RING_DEFAULTS.chunkBytes;
    this.chunkElements = Math.max(1, Math.floor(chunkBytes / this.codec.bytesPerElement));
    this.timeoutMs = cfg.timeoutMs ?? RING_DEFAULTS.timeoutMs;
    this.transport = { ...DEFAULT_TRANSPORT, ...cfg.transport };
    if (chunkBytes + 4096 > this.transport.maxMessageBytes) {
      throw new RingConfigError(`chunkBytes ${chunkBytes} does not fit maxMessageBytes ${this.transport.maxMessageBytes} (header needs ~200 bytes more)`);
    }
    const l = (rank - 1 + worldSize) % worldSize;
    const r = (rank + 1) % worldSize;
    this.left = { rank: l, address: peers[l] };
    this.right = { rank: r, address: peers[r] };
    this.client = worldSize > 1 ? new (peerClientConstructor())(this.left.address, grpc.credentials.createInsecure(), peerClientOptions(this.transport)) : null;
    server.attach(this);
  }

  async allReduce(buf: Float32Array, opts: AllReduceOptions): Promise<AllReduceResult> {
    const t0 = performance.now();
    const views0 = { ...alignmentStats };
    const bucket = opts.bucket ?? 0;
    const key: Key = { step: opts.step, bucket };
    const mean = opts.op === 'mean';
    if (this.closed) throw new RingConfigError(`rank ${this.rank}: communicator of generation ${this.generation} is closed`);
    if (opts.nonFiniteFlag && buf.length === 0) throw new RingConfigError('nonFiniteFlag needs a buffer with the flag element appended');
    if (this.highest && compareKeys(key, this.highest) <= 0) {
      throw new RingConfigError(`rank ${this.rank}: all-reduce for step ${key.step} bucket ${bucket} comes after step ${this.highest.step} bucket ${this.highest.bucket}; collectives must be issued in increasing (step, bucket) order`);
    }
    this.highest = key;
    let stats = { bytesSent: 0, bytesReceived: 0 };
    if (this.worldSize > 1 && buf.length > 0) {
      const fp: CollectiveFingerprint = {
        generation: this.generation, step: opts.step, bucket, byte_length: buf.byteLength, layout_hash: opts.layoutHash,
        world_size: this.worldSize, wire_dtype: this.codec.dtype, op: mean ? 'MEAN' : 'SUM', chunk_elements: this.chunkElements, rank: this.rank,
      };
      stats = await this.run(buf, fp, mean, opts.timeoutMs ?? this.timeoutMs);
    }
    let nonFiniteRanks = 0;
    if (opts.nonFiniteFlag) {
      const flag = buf[buf.length - 1];
      nonFiniteRanks = Number.isFinite(flag) ? Math.round(mean ? flag * this.worldSize : flag) : this.worldSize;
    }
    const payloadViews = { inPlace: alignmentStats.inPlace - views0.inPlace, copied: alignmentStats.copied - views0.copied };
    return { nonFinite: nonFiniteRanks > 0, nonFiniteRanks, ms: performance.now() - t0, ...stats, payloadViews };
  }

  private async run(buf: Float32Array, fp: CollectiveFingerprint, mean: boolean, timeoutMs: number): Promise<{ bytesSent: number; bytesReceived: number }> {
    const k = collectiveKey(fp.step, fp.bucket);
    const ctx: CollectiveContext = { rank: this.rank, worldSize: this.worldSize, left: this.left, right: this.right, codec: this.codec, chunkElements: this.chunkElements, timeoutMs };
    const call = (this.client as unknown as { Ring: (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, DecodedRingChunk> }).Ring(
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs + CALL_DEADLINE_SLACK_MS, waitForReady: true } as grpc.CallOptions,
    );
    const coll = new RingAllReduce(ctx, buf, fp, mean, call);
    this.active.set(k, coll);
    // Calls that arrived before we got here: ours if the key matches, stale if it is older.
    for (const [pk, out] of [...this.parked]) {
      if (pk === k) {
        this.parked.delete(pk);
        this.offerOutbound(out);
      } else if (compareKeys(out.hello, fp) < 0) {
        this.parked.delete(pk);
        this.refuseStale(out);
      }
    }
    try {
      await coll.done;
      return { bytesSent: coll.bytesSent, bytesReceived: coll.bytesReceived };
    } catch (e) {
      this.remember(k, e as RingError);
      throw e;
    } finally {
      this.active.delete(k);
    }
  }

  /** PeerServer hands us the right neighbour's Ring call (same generation as ours). */
  offerOutbound(out: OutboundCall): void {
    const h = out.hello;
    const k = collectiveKey(h.step, h.bucket);
    const coll = this.active.get(k);
    if (coll) {
      const err = compareFingerprints(coll.fingerprint, h, this.right.rank);
      if (err) {
        rejectCall(out, err, this.rank);
        coll.fail(err);
      } else {
        coll.attachOutbound(out);
      }
      return;
    }
    const failed = this.failures.get(k);
    if (failed) {
      rejectCall(out, failed, this.rank);
    } else if (this.highest && compareKeys(h, this.highest) <= 0) {
      this.refuseStale(out);
    } else {
      // The caller is ahead of us: hold its call until we issue this collective.
      const previous = this.parked.get(k);
      if (previous) rejectCall(previous, new RingError(`rank ${this.rank}: a second Ring call for step ${h.step} bucket ${h.bucket} replaced this one`, grpc.status.FAILED_PRECONDITION), this.rank);
      this.parked.set(k, out);
      out.onGone = () => {
        if (this.parked.get(k) === out) this.parked.delete(k);
      };
    }
  }

  /** The right neighbour asks for a collective we have finished or skipped: refuse and fail ours. */
  private refuseStale(out: OutboundCall): void {
    const h = out.hello;
    const at = this.highest!;
    const field = h.step !== at.step ? 'step' : 'bucket';
    const err = new FingerprintMismatchError(field, this.rank, at[field], h.rank, h[field], 'stale collective');
    rejectCall(out, err, this.rank);
    for (const c of this.active.values()) c.fail(err);
  }

  private remember(k: string, e: RingError): void {
    this.failures.set(k, e);
    if (this.failures.size > RECENT_FAILURES) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Fail every collective in flight (e.g. the coordinator started a new generation). */
  abort(reason: string): void {
    const err = new RingError(`rank ${this.rank}: generation ${this.generation} aborted: ${reason}`, grpc.status.ABORTED);
    for (const c of this.active.values()) c.fail(err);
    for (const out of this.parked.values()) rejectCall(out, err, this.rank);
    this.parked.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort('communicator closed');
    this.server.detach(this);
    this.client?.close();
  }
}
