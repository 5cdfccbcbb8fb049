// The ring all-reduce schedule as plain arithmetic, so it can be tested without sockets.
//
// The buffer is cut into n segments. Rank r receives from its left neighbour (r-1) and sends
// to its right neighbour (r+1). There are 2(n-1) ring steps t:
//   reduce-scatter, k = t:         send segment (r-k), receive segment (r-k-1) and add it;
//   all-gather,     k = t-(n-1):   send segment (r+1-k), receive segment (r-k) and copy it.
// What rank r sends at step t+1 is exactly what it received at step t, so chunk c of step t+1
// may go as soon as chunk c of step t has arrived and been applied: that is the pipeline.
// After reduce-scatter rank r owns the finished segment (r+1).
import type { RingPhaseName } from './chunk-wire.js';

export interface Segment {
  index: number;
  start: number; // element offset
  length: number; // elements (0 when the buffer is shorter than n)
}

export interface Slot {
  ringStep: number;
  phase: RingPhaseName;
  segment: number;
  chunk: number;
  start: number; // element offset in the buffer
  length: number; // elements
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** n near-equal contiguous segments; the first (length mod n) get one element more. */
export function ringSegments(length: number, n: number): Segment[] {
  const base = Math.floor(length / n);
  const extra = length % n;
  const out: Segment[] = [];
  let start = 0;
  for (let k = 0; k < n; k++) {
    const len = base + (k < extra ? 1 : 0);
    out.push({ index: k, start, length: len });
    start += len;
  }
  return out;
}

export function ringSteps(n: number): number {
  return 2 * (n - 1);
}

export function phaseOf(ringStep: number, n: number): RingPhaseName {
  return ringStep < n - 1 ? 'REDUCE_SCATTER' : 'ALL_GATHER';
}

export function sendSegment(rank: number, ringStep: number, n: number): number {
  return ringStep < n - 1 ? mod(rank - ringStep, n) : mod(rank + 1 - (ringStep - (n - 1)), n);
}

export function recvSegment(rank: number, ringStep: number, n: number): number {
  return ringStep < n - 1 ? mod(rank - ringStep - 1, n) : mod(rank - (ringStep - (n - 1)), n);
}

/** The segment rank r holds fully reduced after reduce-scatter. */
export function ownedSegment(rank: number, n: number): number {
  return mod(rank + 1, n);
}

/** Cut one segment into chunks of at most chunkElements. */
export function segmentChunks(seg: Segment, chunkElements: number): { start: number; length: number }[] {
  const out: { start: number; length: number }[] = [];
  for (let off = 0; off < seg.length; off += chunkElements) {
    out.push({ start: seg.start + off, length: Math.min(chunkElements, seg.length - off) });
  }
  return out;
}

/** Every chunk rank r sends (which = 'send') or receives (which = 'recv'), in wire order. */
export function ringSlots(rank: number, n: number, length: number, chunkElements: number, which: 'send' | 'recv'): Slot[] {
  const segs = ringSegments(length, n);
  const pick = which === 'send' ? sendSegment : recvSegment;
  const slots: Slot[] = [];
  for (let t = 0; t < ringSteps(n); t++) {
    const seg = segs[pick(rank, t, n)];
    segmentChunks(seg, chunkElements).forEach((ch, c) =>
      slots.push({ ringStep: t, phase: phaseOf(t, n), segment: seg.index, chunk: c, start: ch.start, length: ch.length }),
    );
  }
  return slots;
}

/**
 * For each send slot, the index of the receive slot that must be applied before it can go
 * (-1 = none: ring step 0 sends the rank's own data).
 */
export function sendDependencies(sendSlots: Slot[], recvSlots: Slot[]): number[] {
  const firstRecvOfStep = new Map<number, number>();
  recvSlots.forEach((s, i) => {
    if (!firstRecvOfStep.has(s.ringStep)) firstRecvOfStep.set(s.ringStep, i);
  });
  return sendSlots.map((s) => {
    if (s.ringStep === 0) return -1;
    const first = firstRecvOfStep.get(s.ringStep - 1);
    if (first === undefined) throw new Error(`ring schedule: nothing received at step ${s.ringStep - 1} for send slot at step ${s.ringStep}`);
    const dep = first + s.chunk;
    const r = recvSlots[dep];
    if (!r || r.ringStep !== s.ringStep - 1 || r.start !== s.start || r.length !== s.length) {
      throw new Error(`ring schedule: send slot (step ${s.ringStep}, chunk ${s.chunk}) does not match receive slot ${dep}`);
    }
    return dep;
  });
}
