// Named errors of the data plane. Each carries the gRPC status code it travels as, so a
// failure on one rank reaches its neighbours with its meaning (and its original message)
// intact: FAILED_PRECONDITION = the ranks disagree about the collective; ABORTED = the
// generation changed or another rank gave up; DEADLINE_EXCEEDED / UNAVAILABLE = a peer is
// slow, hung or gone.
import { status as Status } from '@grpc/grpc-js';

export type RingPhaseLabel = 'CONNECT' | 'REDUCE_SCATTER' | 'ALL_GATHER';

export class RingError extends Error {
  override name = 'RingError';
  constructor(
    message: string,
    /** gRPC status code this error is sent to peers with. */
    readonly code: Status,
    /** The message as first raised, passed on unchanged when the error travels around the ring. */
    readonly origin: string = message,
  ) {
    super(message);
  }
}

/** Two ranks disagree about one field of the collective (or one is at a stale step/bucket). */
export class FingerprintMismatchError extends RingError {
  override name = 'FingerprintMismatchError';
  constructor(
    readonly field: string,
    readonly localRank: number,
    readonly localValue: unknown,
    readonly remoteRank: number,
    readonly remoteValue: unknown,
    what = 'fingerprint mismatch',
  ) {
    super(
      `${what} in field '${field}': rank ${remoteRank} has ${fmt(remoteValue)}, rank ${localRank} has ${fmt(localValue)}` +
        ' — every rank must run the same collectives in the same order with the same buffers and options',
      Status.FAILED_PRECONDITION,
    );
  }
}

/** A peer is in another generation: membership changed, the collective cannot complete. */
export class GenerationChangedError extends RingError {
  override name = 'GenerationChangedError';
  constructor(readonly localRank: number, readonly localGeneration: number, readonly remoteRank: number, readonly remoteGeneration: number) {
    super(
      `generation changed: rank ${remoteRank} is in generation ${remoteGeneration}, rank ${localRank} in generation ${localGeneration}` +
        ' — the collective is abandoned; rejoin the current generation',
      Status.ABORTED,
    );
  }
}

/** The collective's deadline passed; says who we were waiting for and in which phase. */
export class RingTimeoutError extends RingError {
  override name = 'RingTimeoutError';
  constructor(readonly rank: number, readonly peerRank: number, readonly phase: RingPhaseLabel, readonly waitingFor: string, readonly timeoutMs: number) {
    super(`rank ${rank}: all-reduce timed out after ${timeoutMs} ms in ${phase} waiting for rank ${peerRank}: ${waitingFor}`, Status.DEADLINE_EXCEEDED);
  }
}

/** The connection to a neighbour broke (process died, network gone). */
export class PeerUnavailableError extends RingError {
  override name = 'PeerUnavailableError';
  constructor(readonly rank: number, readonly peerRank: number, readonly address: string, readonly phase: RingPhaseLabel, detail: string, code: Status = Status.UNAVAILABLE) {
    super(`rank ${rank}: lost rank ${peerRank} (${address}) during ${phase}: ${detail}`, code);
  }
}

/** Another rank failed first; `origin` is its message. */
export class RingAbortedError extends RingError {
  override name = 'RingAbortedError';
  constructor(readonly rank: number, readonly fromRank: number, code: Status, origin: string) {
    super(`rank ${rank}: all-reduce aborted, reported by rank ${fromRank}: ${origin}`, code, origin);
  }
}

/** A chunk that does not fit the ring schedule (a bug or a corrupted stream). */
export class RingProtocolError extends RingError {
  override name = 'RingProtocolError';
  constructor(message: string) {
    super(message, Status.INTERNAL);
  }
}

/** Bad arguments to the all-reduce API, detected before anything is sent. */
export class RingConfigError extends RingError {
  override name = 'RingConfigError';
  constructor(message: string) {
    super(message, Status.INVALID_ARGUMENT);
  }
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? `'${v.length > 20 ? v.slice(0, 16) + '…' : v}'` : String(v);
}

/** The grpc status name of a code, for messages. */
export function statusName(code: number): string {
  return (Status as unknown as Record<number, string>)[code] ?? String(code);
}
