// Fixture access shared by the self-training parity tests (ce, fd, ema, classmix, pseudo-weight, miou).
// The manifest's `file` already starts with "tensors/", while Golden.npy() prefixes "tensors/" again;
// this resolves either layout, so the tests keep working once the shared helper is fixed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Golden } from '../helpers/golden.js';
import { readNpy, type NpyArray } from '../helpers/npy.js';

export function npyOf(g: Golden, name: string): NpyArray {
  const t = g.manifest.tensors[name];
  if (!t) throw new Error(`${g.dir}: tensor '${name}' not in manifest`);
  const direct = join(g.dir, t.file);
  return readNpy(existsSync(direct) ? direct : join(g.dir, 'tensors', t.file));
}

/** Tensor as stored (NCHW); float64 → float32, uint8 → int32. */
export function tensorOf(g: Golden, name: string): tf.Tensor {
  const a = npyOf(g, name);
  if (a.dtype === 'float64' || a.dtype === 'float32') return tf.tensor(Float32Array.from(a.data), a.shape, 'float32');
  return tf.tensor(Int32Array.from(a.data), a.shape, 'int32');
}

/** NCHW fixture → NHWC. */
export function nhwcOf(g: Golden, name: string): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tensorOf(g, name), [0, 2, 3, 1]) as tf.Tensor4D);
}

/** B×1×H×W fixture labels/masks → [B,H,W]. */
export function labels3d(g: Golden, name: string): tf.Tensor3D {
  return tf.tidy(() => tf.squeeze(tensorOf(g, name), [1]) as tf.Tensor3D);
}

/** Integer fixture as a flat Int32Array. */
export function intsOf(g: Golden, name: string): Int32Array {
  return Int32Array.from(npyOf(g, name).data as ArrayLike<number>);
}

/** Compare a scalar tensor or number with a fixture value; prints |Δ|. */
export function closeScalar(label: string, actual: tf.Tensor | number, expected: number, rtol: number, atol = 0): number {
  const a = typeof actual === 'number' ? actual : actual.dataSync()[0];
  const d = Math.abs(a - expected);
  console.log(`  ${label}: ${a} vs ${expected} |Δ|=${d.toExponential(3)}`);
  assert.ok(d <= atol + rtol * Math.abs(expected), `${label}: got ${a}, expected ${expected} (|Δ| ${d})`);
  return d;
}

/** Exact equality of two integer tensors/arrays, with the first mismatch in the message. */
export function assertSameInts(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  assert.equal(actual.length, expected.length, `${label}: ${actual.length} values vs ${expected.length}`);
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      mismatches++;
      if (first < 0) first = i;
    }
  }
  console.log(`  ${label}: ${mismatches} of ${actual.length} differ`);
  assert.equal(mismatches, 0, `${label}: ${mismatches} values differ; first at ${first}: ${actual[first]} vs ${expected[first]}`);
}
