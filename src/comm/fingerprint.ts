// What two neighbours must agree on before a byte of a collective moves, and the check that
// names the first field they disagree on.
import type { WireDtypeName } from './chunk-wire.js';
import { FingerprintMismatchError, GenerationChangedError, type RingError } from './errors.js';

export type ReduceOpName = 'SUM' | 'MEAN';

/** pipa.v1.CollectiveFingerprint, field names as in the .proto. */
export interface CollectiveFingerprint {
  generation: number;
  step: number;
  bucket: number;
  byte_length: number;
  layout_hash: string;
  world_size: number;
  wire_dtype: WireDtypeName;
  op: ReduceOpName;
  chunk_elements: number;
  rank: number;
}

/** Order in which fields are compared; the first difference is the one reported. */
const COMPARED: (keyof CollectiveFingerprint)[] = ['world_size', 'step', 'bucket', 'byte_length', 'layout_hash', 'op', 'wire_dtype', 'chunk_elements'];

/**
 * null when `remote` (the right neighbour's hello) fits `local`; else the error both sides
 * fail with. Generation differences come first and are ABORTED, the rest FAILED_PRECONDITION.
 */
export function compareFingerprints(local: CollectiveFingerprint, remote: CollectiveFingerprint, expectedRemoteRank: number): RingError | null {
  if (remote.generation !== local.generation) return new GenerationChangedError(local.rank, local.generation, remote.rank, remote.generation);
  if (remote.rank !== expectedRemoteRank) {
    return new FingerprintMismatchError('rank', local.rank, `right neighbour ${expectedRemoteRank}`, remote.rank, remote.rank, 'ring wiring mismatch (peer lists differ)');
  }
  for (const f of COMPARED) {
    if (remote[f] !== local[f]) return new FingerprintMismatchError(f, local.rank, local[f], remote.rank, remote[f]);
  }
  return null;
}

/** Collectives of one generation are ordered by (step, bucket). */
export function collectiveKey(step: number, bucket: number): string {
  return `${step}/${bucket}`;
}

export function compareKeys(a: { step: number; bucket: number }, b: { step: number; bucket: number }): number {
  return a.step !== b.step ? a.step - b.step : a.bucket - b.bucket;
}
