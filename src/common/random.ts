// Seeded randomness. Every random draw in the product comes from an Rng derived from
// (seed, ...path), e.g. rngFor(seed, 'step', step, 'classmix'), so a run is reproducible
// and what a step sees does not depend on the number of workers or on call order elsewhere.
import { createHash } from 'node:crypto';

/** xoshiro128** over four 32-bit words: small, fast, good statistical quality. */
export class Rng {
  private s: Uint32Array;

  constructor(state: Uint32Array) {
    if (state.length !== 4 || state.every((x) => x === 0)) throw new Error('Rng state must be 4 words, not all zero');
    this.s = Uint32Array.from(state);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** Uniform integer in [lo, hi) (hi exclusive, like numpy's randint). */
  randint(lo: number, hi: number): number {
    if (!(hi > lo)) throw new Error(`randint: empty range [${lo}, ${hi})`);
    return lo + Math.floor(this.random() * (hi - lo));
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  /** k distinct indices from 0..n-1, in random order (numpy choice(n, k, replace=False)). */
  choice(n: number, k: number): number[] {
    if (k > n) throw new Error(`choice: cannot draw ${k} distinct items from ${n}`);
    return this.permutation(n).slice(0, k);
  }

  /** A 31-bit integer seed for TF.js random ops (dropout masks etc.). */
  seed31(): number {
    return this.nextU32() >>> 1;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.random();
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Rng for a derivation path, e.g. rngFor(0, 'rank', 1, 'step', 42, 'dropout'). */
export function rngFor(seed: number, ...path: Array<string | number>): Rng {
  const h = createHash('sha256').update(JSON.stringify([seed, ...path])).digest();
  const st = new Uint32Array([h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)]);
  if (st.every((x) => x === 0)) st[0] = 1;
  return new Rng(st);
}
