// Dilated depthwise convolution that TF.js can differentiate on every backend. TF.js
// refuses gradients of depthwiseConv2d with dilation > 1, and space-to-batch is slow on
// the cpu backend and missing gradients on wasm, so for d > 1 the conv is written as its
// k·k shifted taps: y = Σ_ij w[i,j,c] · x_pad[o + d·(i,j)]. Taps whose window lies wholly
// in the zero padding contribute exactly 0 and are skipped — on small feature maps with
// large dilations (ASPP d = 18) that leaves only the centre tap.
import * as tf from '@tensorflow/tfjs';
import { depthwiseConv2d } from '../layers/conv.js';
import { dilatedDepthwiseConv2d, nativeDilatedDepthwiseAvailable } from '../wasm/dilated-depthwise.js';

export interface AtrousOptions {
  padding?: number;
  dilation?: number;
}

/** Whether a window [start, start+len) of a padded axis touches the real rows [pad, pad+size). */
function touchesData(start: number, len: number, pad: number, size: number): boolean {
  return start < pad + size && start + len > pad;
}

/** Depthwise conv, stride 1, symmetric zero padding p, dilation d: x [B,H,W,C], w [k,k,C,1]. */
export function atrousDepthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor, o: AtrousOptions = {}): tf.Tensor4D {
  const d = o.dilation ?? 1;
  const p = o.padding ?? 0;
  if (d === 1) return depthwiseConv2d(x, w, null, { padding: p });
  const k = w.shape[0];
  if (w.shape[1] !== k) throw new Error(`atrousDepthwiseConv2d: square kernels only, got [${w.shape}]`);
  const [, h, wd, c] = x.shape;
  const outH = h + 2 * p - d * (k - 1);
  const outW = wd + 2 * p - d * (k - 1);
  if (outH <= 0 || outW <= 0) throw new Error(`atrousDepthwiseConv2d: ${h}×${wd} input is too small for k=${k}, d=${d}, p=${p}`);
  // wasm: XNNPACK dilates natively and src/model/wasm supplies dilation-aware gradients —
  // one conv instead of k·k shifted copies of the (1024-channel) ASPP input in both passes.
  if (nativeDilatedDepthwiseAvailable()) return dilatedDepthwiseConv2d(x, w as tf.Tensor4D, p, d);
  return tf.tidy(() => {
    const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    let acc: tf.Tensor4D | null = null;
    for (let i = 0; i < k; i++) {
      if (!touchesData(i * d, outH, p, h)) continue;
      for (let j = 0; j < k; j++) {
        if (!touchesData(j * d, outW, p, wd)) continue;
        const tap = tf.slice(xp, [0, i * d, j * d, 0], [-1, outH, outW, -1]);
        const wij = tf.reshape(tf.slice(w, [i, j, 0, 0], [1, 1, c, 1]), [c]);
        const term = tf.mul(tap, wij) as tf.Tensor4D;
        acc = acc ? (tf.add(acc, term) as tf.Tensor4D) : term;
      }
    }
    return acc ?? tf.zeros([x.shape[0], outH, outW, c]);
  });
}
