// UnsortedSegmentSum for the wasm backend: the gradient of tf.gather (used by the
// PyTorch-exact bilinear/nearest resizes) sums dy rows into the gathered indices.
// wasm's ScatterNd adds duplicate indices, which is exactly a segment sum:
//   out[ids[i], …] += x[i, …]   with ids flattened to [N, 1] and x to [N, …rest].
// Ids outside [0, numSegments) are dropped (TensorFlow's rule) by routing them, with
// zeroed rows, to segment 0 — ScatterNd itself has no bounds check.
import * as tf from '@tensorflow/tfjs';
import { withScratch, type WasmScratch } from './wasm-ops.js';

const NAME = 'UnsortedSegmentSum';

function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as unknown as { numSegments: number }).numSegments;
  const idRank = segmentIds.shape.length;
  const n = segmentIds.shape.reduce((p, d) => p * d, 1);
  const rest = x.shape.slice(idRank);
  return withScratch(args.backend, NAME, (s) => {
    let ids = s.reshape(segmentIds, [n, 1]);
    let rows = s.reshape(x, [n, ...rest]);
    if (segmentIds.dtype !== 'int32') ids = s.run('Cast', { x: ids }, { dtype: 'int32' });
    const inRange = idsInRange(s.backend, segmentIds, numSegments);
    if (!inRange) {
      // keep = 0 ≤ id < numSegments; ids := keep ? id : 0; rows := rows · keep
      const lo = s.run('GreaterEqual', { a: ids, b: scalarInt(s, 0) });
      const hi = s.run('Less', { a: ids, b: scalarInt(s, numSegments) });
      const keep = s.run('LogicalAnd', { a: lo, b: hi });
      ids = s.run('Select', { condition: keep, t: ids, e: scalarLike(s, ids, 0) });
      const keepF = s.run('Cast', { x: s.reshape(keep, [n, ...rest.map(() => 1)]) }, { dtype: x.dtype });
      rows = s.run('Multiply', { a: rows, b: keepF });
    }
    return s.run('ScatterNd', { indices: ids, updates: rows }, { shape: [numSegments, ...rest] });
  });
}

function scalarInt(s: WasmScratch, v: number): tf.TensorInfo {
  return s.run('Fill', {}, { shape: [], value: v, dtype: 'int32' });
}

function scalarLike(s: WasmScratch, like: tf.TensorInfo, v: number): tf.TensorInfo {
  return s.run('Fill', {}, { shape: like.shape, value: v, dtype: 'int32' });
}

/** Reads the ids (small: one per gathered row) to skip the masking work when all are valid. */
function idsInRange(backend: tf.KernelBackend, ids: tf.TensorInfo, numSegments: number): boolean {
  const vals = backend.readSync(ids.dataId) as Int32Array | Float32Array;
  for (let i = 0; i < vals.length; i++) if (!(vals[i] >= 0 && vals[i] < numSegments)) return false;
  return true;
}

export const unsortedSegmentSumWasm: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
