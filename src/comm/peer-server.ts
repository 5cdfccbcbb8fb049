// The gRPC server hosting the Peer service. It outlives generations: a RingCommunicator
// (one per generation) attaches to it, and every incoming Ring call is handed to the
// communicator of the caller's generation — held until one attaches if the caller is ahead,
// refused with ABORTED if the caller is behind.
import * as grpc from '@grpc/grpc-js';
import { peerService } from './proto.js';
import { DEFAULT_TRANSPORT, peerServerOptions, type TransportOptions } from './channel-options.js';
import { GenerationChangedError, RingError } from './errors.js';
import type { CollectiveFingerprint } from './fingerprint.js';

/** An incoming Ring call after its hello: the sending side of one collective. */
export interface OutboundCall {
  readonly call: grpc.ServerDuplexStream<unknown, Buffer>;
  readonly hello: CollectiveFingerprint;
  /** Set by whoever owns the call: the receiver gave up (RingAbort) or the call died. */
  onAbort: (rank: number, reason: string, code: number) => void;
  onGone: (why: string) => void;
  /** True once the call was cancelled or errored at the transport level. */
  gone: boolean;
}

/** What the server hands calls to (implemented by RingCommunicator). */
export interface RingEndpoint {
  readonly generation: number;
  readonly rank: number;
  offerOutbound(out: OutboundCall): void;
}

interface RingRequestMessage {
  hello?: { fingerprint: CollectiveFingerprint };
  abort?: { rank: number; reason: string; code: number };
  kind?: string;
}

export class PeerServer {
  private endpoint: RingEndpoint | null = null;
  private waiting = new Set<OutboundCall>();

  private constructor(
    private readonly server: grpc.Server,
    /** host:port other ranks dial. */
    readonly address: string,
    readonly port: number,
  ) {}

  /** Bind host:port (port 0 = any free port). Tests and single-host runs bind 127.0.0.1. */
  static async listen(host = '127.0.0.1', port = 0, transport: TransportOptions = DEFAULT_TRANSPORT): Promise<PeerServer> {
    const server = new grpc.Server(peerServerOptions(transport));
    let self: PeerServer | null = null;
    server.addService(peerService(), { Ring: (call: grpc.ServerDuplexStream<unknown, Buffer>) => self!.onRing(call) });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    self = new PeerServer(server, `${host.includes(':') ? `[${host}]` : host}:${bound}`, bound);
    return self;
  }

  /** Route calls to `endpoint` from now on; calls of older generations waiting here are refused. */
  attach(endpoint: RingEndpoint): void {
    this.endpoint = endpoint;
    for (const w of [...this.waiting]) this.route(w);
  }

  detach(endpoint: RingEndpoint): void {
    if (this.endpoint === endpoint) this.endpoint = null;
  }

  /** Stop accepting calls; in-flight calls get a short grace, then are cut. */
  async close(graceMs = 1000): Promise<void> {
    for (const w of this.waiting) rejectCall(w, new RingError('peer server shutting down', grpc.status.UNAVAILABLE));
    this.waiting.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onRing(call: grpc.ServerDuplexStream<unknown, Buffer>): void {
    let out: OutboundCall | null = null;
    const pendingGone = (why: string) => {
      if (!out || out.gone) return; // gone already: we ended it ourselves (rejectCall)
      out.gone = true;
      this.waiting.delete(out);
      out.onGone(why);
    };
    call.on('data', (msg: RingRequestMessage) => {
      if (!out) {
        const fp = msg.hello?.fingerprint;
        if (!fp) {
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'Ring: the first message must be a hello with a fingerprint' });
          return;
        }
        out = { call, hello: fp, gone: false, onAbort: () => {}, onGone: () => {} };
        this.route(out);
      } else if (msg.abort) {
        out.onAbort(msg.abort.rank, msg.abort.reason, msg.abort.code);
      }
    });
    call.on('cancelled', () => pendingGone('the receiving rank cancelled the call or disconnected'));
    call.on('error', (e: Error) => pendingGone(`call error: ${e.message}`));
  }

  private route(out: OutboundCall): void {
    const ep = this.endpoint;
    if (!ep || out.hello.generation > ep.generation) {
      // The caller is ahead of us (or we have not joined yet): hold it until a communicator of
      // its generation attaches or the caller's deadline cancels it.
      this.waiting.add(out);
      return;
    }
    this.waiting.delete(out);
    if (out.hello.generation < ep.generation) {
      rejectCall(out, new GenerationChangedError(ep.rank, ep.generation, out.hello.rank, out.hello.generation), ep.rank);
      return;
    }
    ep.offerOutbound(out);
  }
}

/** Trailer on statuses a rank ends calls with, so peers can tell them from transport failures. */
export const ORIGIN_RANK_KEY = 'pipa-origin-rank';

/**
 * End an incoming call with the error's status; its original message travels as the status
 * details, and `originRank` (when given) as a trailer naming the rank that decided it.
 */
export function rejectCall(out: OutboundCall, err: RingError, originRank?: number): void {
  if (out.gone) return;
  out.gone = true;
  const metadata = new grpc.Metadata();
  if (originRank !== undefined) metadata.set(ORIGIN_RANK_KEY, String(originRank));
  out.call.emit('error', { code: err.code, details: err.origin, metadata });
}
