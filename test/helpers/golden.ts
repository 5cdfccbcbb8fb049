// Access to golden fixture folders: the public one shipped in test/fixtures plus every
// folder listed in PIPA_GOLDEN_DIRS (colon-separated, same format). Nothing in the tests
// may assume the public set's sizes: read shapes and config from the manifest.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { readNpy, type NpyArray } from './npy.js';

const here = dirname(fileURLToPath(import.meta.url));
export const PUBLIC_GOLDEN = resolve(here, '../fixtures/golden-public');

export function goldenDirs(): string[] {
  const extra = (process.env.PIPA_GOLDEN_DIRS ?? '')
    .split(':')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((p) => resolve(p));
  for (const d of extra) {
    if (!existsSync(join(d, 'manifest.json'))) throw new Error(`PIPA_GOLDEN_DIRS entry ${d} has no manifest.json`);
  }
  return [PUBLIC_GOLDEN, ...extra];
}

export class Golden {
  readonly manifest: any;
  constructor(readonly dir: string) {
    this.manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  }
  get name(): string {
    return this.manifest.set ?? this.dir;
  }
  has(name: string): boolean {
    return name in this.manifest.tensors;
  }
  /** Names of tensors starting with `prefix`. */
  names(prefix: string): string[] {
    return Object.keys(this.manifest.tensors).filter((n) => n.startsWith(prefix));
  }
  npy(name: string): NpyArray {
    const t = this.manifest.tensors[name];
    if (!t) throw new Error(`${this.dir}: tensor '${name}' not in manifest`);
    return readNpy(join(this.dir, t.file));
  }
  /** Tensor as stored (PyTorch layout, NCHW). Float64 becomes float32. */
  tensor(name: string): tf.Tensor {
    const a = this.npy(name);
    if (a.dtype === 'float64') return tf.tensor(Float32Array.from(a.data), a.shape, 'float32');
    if (a.dtype === 'uint8') return tf.tensor(Int32Array.from(a.data), a.shape, 'int32');
    return tf.tensor(a.data as Float32Array | Int32Array, a.shape, a.dtype);
  }
  /** A 4-D NCHW tensor transposed to NHWC. */
  nhwc(name: string): tf.Tensor4D {
    return tf.tidy(() => tf.transpose(this.tensor(name), [0, 2, 3, 1]) as tf.Tensor4D);
  }
  scalar(name: string): number {
    const s = this.manifest.scalars[name];
    if (!s) throw new Error(`${this.dir}: scalar '${name}' not in manifest`);
    return s.value;
  }
  weight(file: 'segmentor_pth' | 'segmentor_safetensors' | 'uda_pth' | 'uda_extra_safetensors'): string {
    return join(this.dir, this.manifest.sections.weights.files[file]);
  }
}

export function allGoldens(): Golden[] {
  return goldenDirs().map((d) => new Golden(d));
}

export interface DiffResult {
  maxAbs: number;
  maxRel: number;
}

/** Max abs / rel difference; asserts shapes match. */
export function diff(actual: tf.Tensor, expected: tf.Tensor): DiffResult {
  if (!tf.util.arraysEqual(actual.shape, expected.shape)) {
    throw new Error(`shape mismatch: actual [${actual.shape}] vs expected [${expected.shape}]`);
  }
  const a = actual.dataSync();
  const e = expected.dataSync();
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    const r = d / Math.max(Math.abs(e[i]), 1e-12);
    if (r > maxRel) maxRel = r;
  }
  return { maxAbs, maxRel };
}

/** Compare, print the max abs diff, and throw if outside atol + rtol·|expected|. */
export function assertClose(label: string, actual: tf.Tensor, expected: tf.Tensor, atol: number, rtol = 0): DiffResult {
  const d = diff(actual, expected);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = -1;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) {
      worst = i;
      break;
    }
  }
  console.log(`  ${label}: max|Δ|=${d.maxAbs.toExponential(3)} (atol ${atol}${rtol ? `, rtol ${rtol}` : ''})`);
  if (worst >= 0) {
    throw new Error(`${label}: element ${worst} is ${a[worst]}, expected ${e[worst]} (max|Δ| ${d.maxAbs})`);
  }
  return d;
}

/** Runs fn and asserts it leaves no new tensors behind (the leak check every model/loss test ends with). */
export async function withLeakCheck<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`tensor leak: ${after - before} tensors left behind (${before} → ${after})`);
  return out;
}
