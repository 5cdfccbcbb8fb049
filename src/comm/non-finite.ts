// The non-finite flag the fusion buffer carries in its last element, so that a single
// all-reduce also tells every rank whether ANY rank saw NaN/Inf — and all skip the step together.

/** Set buf[last] to 1 if any of buf[0..last) is NaN or ±Inf, else 0; returns the flag. */
export function markNonFinite(buf: Float32Array): boolean {
  const last = buf.length - 1;
  if (last < 0) throw new RangeError('markNonFinite: the buffer has no room for the flag element');
  let bad = false;
  for (let i = 0; i < last; i++) {
    // x - x is 0 for finite x and NaN for NaN/±Inf: one branch-free test per element.
    if (buf[i] - buf[i] !== 0) {
      bad = true;
      break;
    }
  }
  buf[last] = bad ? 1 : 0;
  return bad;
}

/** Elements a fusion buffer needs for `dataLength` values plus the flag. */
export function withFlagLength(dataLength: number): number {
  return dataLength + 1;
}
