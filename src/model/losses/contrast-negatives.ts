// Anchor-vs-negative statistics of the patch-wise contrast, computed in key chunks with
// a hand-written gradient so memory stays at n×chunk instead of n×N (the original
// chunks its 8000-row blocks with torch.utils.checkpoint for the same reason; real
// sizes reach 8100 anchors × 9600 bank rows). The keys (negatives) are constants — in
// CAC they are detached bank entries — so no gradient flows into them. Per anchor i:
//   shift_i  = max(pos_i, max_{j < window} s_ij)            s_ij = a_i · k_j / τ
//   negSum_i = Σ_j [label_j ≠ label_i] exp(s_ij − shift_i)
// One pass over the keys forward (running max with rescaled partial sums, as in online
// softmax) and one backward; every matmul is untransposed (the fast path on wasm).
import * as tf from '@tensorflow/tfjs';

/** Detached negatives with their (pseudo-)labels. */
export interface NegativeKeys {
  features: tf.Tensor2D;
  labels: Int32Array;
}

export interface NegativeStatsOptions {
  temperature: number;
  /** Keys [0, window) take part in the max (masked or not); Infinity = all keys. */
  window: number;
  /** Elements of one n×chunk block; bounds the transient memory (default 4 Mi). */
  blockElements?: number;
}

export interface NegativeStats {
  shift: tf.Tensor1D;
  negSum: tf.Tensor1D;
}

export class NegativeKeysError extends Error {
  override name = 'NegativeKeysError';
}

const DEFAULT_BLOCK_ELEMENTS = 1 << 22;

function checkInputs(anchors: tf.Tensor2D, pos: tf.Tensor1D, labels: Int32Array, keys: NegativeKeys): void {
  const n = anchors.shape[0];
  if (pos.shape[0] !== n || labels.length !== n) {
    throw new NegativeKeysError(`${n} anchors but ${pos.shape[0]} positives and ${labels.length} anchor labels`);
  }
  if (keys.features.shape[0] !== keys.labels.length) {
    throw new NegativeKeysError(`${keys.features.shape[0]} negative features but ${keys.labels.length} labels`);
  }
  if (keys.features.shape[1] !== anchors.shape[1]) {
    throw new NegativeKeysError(`negatives have ${keys.features.shape[1]} channels, anchors ${anchors.shape[1]}`);
  }
}

/** shift and negSum (see the file comment); differentiable w.r.t. anchors and pos. */
export function negativeStatistics(
  anchors: tf.Tensor2D,
  pos: tf.Tensor1D,
  anchorLabels: Int32Array,
  keys: NegativeKeys,
  o: NegativeStatsOptions,
): NegativeStats {
  checkInputs(anchors, pos, anchorLabels, keys);
  const n = anchors.shape[0];
  const N = keys.features.shape[0];
  const window = Math.min(N, o.window);
  const tau = o.temperature;
  const step = Math.max(1, Math.min(N, Math.floor((o.blockElements ?? DEFAULT_BLOCK_ELEMENTS) / Math.max(1, n))));
  const chunks: Array<[number, number]> = [];
  for (let s = 0; s < N; s += step) chunks.push([s, Math.min(N, s + step)]);
  const rowLabels = () => tf.tensor2d(anchorLabels, [n, 1], 'int32');
  const maskOf = (rows: tf.Tensor2D, s: number, e: number) =>
    tf.cast(tf.notEqual(tf.tensor2d(keys.labels.subarray(s, e), [1, e - s], 'int32'), rows), 'float32');

  const op = tf.customGrad(((a: tf.Tensor2D, p: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const keysT = tf.transpose(keys.features) as tf.Tensor2D; // [D, N]
    const rows = rowLabels();
    let wmax: tf.Tensor1D = tf.fill([n], -Infinity);
    let warg: tf.Tensor1D = tf.zeros([n], 'int32');
    let ref: tf.Tensor1D = tf.fill([n], -Infinity);
    let acc: tf.Tensor1D = tf.zeros([n]);
    for (const [s, e] of chunks) {
      const next = tf.tidy(() => {
        const sim = tf.div(tf.matMul(a, tf.slice(keysT, [0, s], [-1, e - s])), tau) as tf.Tensor2D;
        let nw: tf.Tensor = wmax;
        let na: tf.Tensor = warg;
        if (s < window) {
          const part = e <= window ? sim : tf.slice(sim, [0, 0], [-1, window - s]);
          const cmax = tf.max(part, 1);
          const better = tf.greater(cmax, wmax); // strict: the first maximiser wins, like torch.max
          nw = tf.where(better, cmax, wmax);
          na = tf.where(better, tf.add(tf.argMax(part, 1), tf.scalar(s, 'int32')), warg);
        }
        const nref = tf.maximum(ref, tf.max(sim, 1));
        const terms = tf.mul(tf.exp(tf.sub(sim, tf.expandDims(nref, 1))), maskOf(rows, s, e));
        const nacc = tf.add(tf.mul(acc, tf.exp(tf.sub(ref, nref))), tf.sum(terms, 1));
        return [nw, na, nref, nacc] as tf.Tensor1D[];
      });
      tf.dispose([wmax, warg, ref, acc].filter((t, i) => t !== next[i]));
      [wmax, warg, ref, acc] = next;
    }
    // Ties go to pos, index 0 of the original's [pos, neg] concatenation.
    const posWins = tf.greaterEqual(p, wmax);
    const shift = tf.where(posWins, p, wmax);
    const negSum = N === 0 ? tf.zeros([n]) : tf.mul(acc, tf.exp(tf.sub(ref, shift)));
    save([a, shift, negSum, tf.cast(posWins, 'float32'), warg, rows, keys.features, keysT]);
    return {
      value: tf.stack([shift, negSum], 1),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sShift, sNeg, sPosWins, sArg, sRows, sKeys, sKeysT] = saved as tf.Tensor2D[];
        return tf.tidy(() => {
          const [dyShift, dyNeg] = tf.unstack(dy, 1);
          // negSum depends on shift: d shift += −dyNeg · negSum; then shift routes to pos or to k_argmax.
          const dShift = tf.sub(dyShift, tf.mul(dyNeg, sNeg));
          const dPos = tf.mul(dShift, sPosWins);
          let dA: tf.Tensor = N === 0 ? tf.zerosLike(sa) : tf.mul(tf.expandDims(tf.mul(dShift, tf.sub(1, sPosWins)), 1), tf.div(tf.gather(sKeys, sArg as unknown as tf.Tensor1D), tau));
          const dyCol = tf.expandDims(dyNeg, 1);
          const shiftCol = tf.expandDims(sShift, 1);
          for (const [s, e] of chunks) {
            const next = tf.tidy(() => {
              const sim = tf.div(tf.matMul(sa, tf.slice(sKeysT, [0, s], [-1, e - s])), tau);
              const w = tf.mul(tf.mul(tf.exp(tf.sub(sim, shiftCol)), maskOf(sRows, s, e)), dyCol);
              return tf.add(dA, tf.div(tf.matMul(w, tf.slice(sKeys, [s, 0], [e - s, -1])), tau));
            });
            dA.dispose();
            dA = next;
          }
          return [dA, dPos];
        });
      },
    };
  }) as any);
  return tf.tidy(() => {
    const packed = op(anchors, pos) as tf.Tensor2D;
    const [shift, negSum] = tf.unstack(packed, 1) as tf.Tensor1D[];
    return { shift, negSum };
  });
}
