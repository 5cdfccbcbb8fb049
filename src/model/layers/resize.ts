// Resizing with PyTorch F.interpolate semantics on NHWC tensors, built from gathers so
// the exact source-index rules (align_corners, scale_factor vs size) are ours, not the
// backend's, and gradients flow through gather.
import * as tf from '@tensorflow/tfjs';

export interface ResizeOptions {
  /** PyTorch align_corners (bilinear only). */
  alignCorners?: boolean;
  /**
   * If the caller passed scale_factor to F.interpolate (and not size), PyTorch maps
   * coordinates with 1/scale_factor rather than in/out; give it here to match.
   */
  scaleFactor?: number;
}

interface Axis1D {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** Source indices and weights for linear interpolation along one axis (PyTorch rules). */
export function linearAxis(inSize: number, outSize: number, o: ResizeOptions = {}): Axis1D {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float32Array(outSize);
  let scale: number;
  if (o.alignCorners) scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  else scale = o.scaleFactor ? 1 / o.scaleFactor : inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    let src = o.alignCorners ? d * scale : (d + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = lo < inSize - 1 ? lo + 1 : lo;
    i0[d] = lo;
    i1[d] = hi;
    w1[d] = Math.fround(src - lo);
  }
  return { i0, i1, w1 };
}

function lerpAxis(x: tf.Tensor4D, axis: 1 | 2, ax: Axis1D): tf.Tensor4D {
  const n = ax.i0.length;
  const a = tf.gather(x, tf.tensor1d(ax.i0, 'int32'), axis);
  const b = tf.gather(x, tf.tensor1d(ax.i1, 'int32'), axis);
  const shape = axis === 1 ? [1, n, 1, 1] : [1, 1, n, 1];
  const w = tf.tensor(ax.w1, shape);
  return tf.add(a, tf.mul(tf.sub(b, a), w)) as tf.Tensor4D;
}

/** Bilinear resize of x [B,H,W,C] to [outH,outW] (no antialiasing, like PyTorch). */
export function resizeBilinear(x: tf.Tensor4D, size: [number, number], o: ResizeOptions = {}): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === size[0] && w === size[1] && !o.scaleFactor) return tf.clone(x);
  return tf.tidy(() => {
    let y = x;
    if (h !== size[0] || o.scaleFactor) y = lerpAxis(y, 1, linearAxis(h, size[0], o));
    if (w !== size[1] || o.scaleFactor) y = lerpAxis(y, 2, linearAxis(w, size[1], o));
    return y;
  });
}

/** PyTorch mode='nearest': src = min(floor(dst·in/out), in−1). */
export function nearestIndices(inSize: number, outSize: number, scaleFactor?: number): Int32Array {
  const scale = scaleFactor ? 1 / scaleFactor : inSize / outSize;
  const idx = new Int32Array(outSize);
  for (let d = 0; d < outSize; d++) idx[d] = Math.min(Math.floor(d * scale), inSize - 1);
  return idx;
}

/** Nearest resize of x [B,H,W,C] (labels included: works for int32). */
export function resizeNearest(x: tf.Tensor4D, size: [number, number], scaleFactor?: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.tidy(() => {
    const rows = tf.gather(x, tf.tensor1d(nearestIndices(h, size[0], scaleFactor), 'int32'), 1);
    return tf.gather(rows, tf.tensor1d(nearestIndices(w, size[1], scaleFactor), 'int32'), 2) as tf.Tensor4D;
  });
}

/** Output size of F.interpolate(scale_factor=s): floor(in·s). */
export function scaledSize(h: number, w: number, s: number): [number, number] {
  return [Math.floor(h * s), Math.floor(w * s)];
}
