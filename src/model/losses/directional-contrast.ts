// One view of CAC's directional context-aware contrast (SPEC §1.8), shared by the
// code-exact patch loss and the paper-intent one:
//   pos_i = f_i · stopgrad(g_i) / τ
//   m_i   = max(pos_i, max_{j < window} f_i · z_j / τ)            (masked and unmasked keys)
//   D_i   = exp(pos_i − m_i) + Σ_{j: lab_j ≠ lab_i} exp(f_i · z_j / τ − m_i)
//   ℓ_i   = −log( exp(pos_i − m_i) / (D_i + ε) + ε )
//   d_i   = [conf_other_i > thr ∧ conf_self_i < conf_other_i]     (only the less confident view learns)
//   L     = Σ d_i ℓ_i / (Σ d_i + 1e−12)
import * as tf from '@tensorflow/tfjs';
import { stopGradient } from '../layers/stop-gradient.js';
import { negativeStatistics, type NegativeKeys } from './contrast-negatives.js';

export interface DirectionalViewInput {
  /** f: this view's overlap embeddings [n, D] (receives the gradient). */
  anchors: tf.Tensor2D;
  /** g: the other view's embeddings at the same locations [n, D] (detached here). */
  partner: tf.Tensor2D;
  /** Pseudo-label of each anchor in this view. */
  anchorLabels: Int32Array;
  confSelf: Float32Array;
  confOther: Float32Array;
  negatives: NegativeKeys;
}

export interface DirectionalOptions {
  temperature: number;
  /** Confidence the other view must exceed (0.9). */
  threshold: number;
  /** Keys that take part in the stabilising max (8000 in the original: its first chunk). */
  maxWindow: number;
  /** ε inside the ratio and the log (1e-8). */
  eps: number;
}

export const CAC_DIRECTIONAL: DirectionalOptions = { temperature: 0.1, threshold: 0.9, maxWindow: 8000, eps: 1e-8 };

export interface DirectionalViewResult {
  loss: tf.Scalar;
  /** pos_i [n]. */
  pos: tf.Tensor1D;
  /** m_i [n] (the original's neg_max). */
  shift: tf.Tensor1D;
  /** D_i [n] (the original's logits_down). */
  denominator: tf.Tensor1D;
  /** d_i (the original's pos_mask). */
  direction: Float32Array;
}

export class DirectionalInputError extends Error {
  override name = 'DirectionalInputError';
}

/** d_i, compared in float32 like the original's tensor comparison. */
export function directionMask(confSelf: Float32Array, confOther: Float32Array, threshold: number): Float32Array {
  const thr = Math.fround(threshold);
  const d = new Float32Array(confSelf.length);
  for (let i = 0; i < d.length; i++) d[i] = confOther[i] > thr && confSelf[i] < confOther[i] ? 1 : 0;
  return d;
}

export function directionalContrastView(v: DirectionalViewInput, o: DirectionalOptions = CAC_DIRECTIONAL): DirectionalViewResult {
  const n = v.anchors.shape[0];
  if (v.partner.shape[0] !== n || v.anchorLabels.length !== n || v.confSelf.length !== n || v.confOther.length !== n) {
    throw new DirectionalInputError(
      `view inputs disagree: ${n} anchors, ${v.partner.shape[0]} partners, ${v.anchorLabels.length} labels, ` +
        `${v.confSelf.length}/${v.confOther.length} confidences`,
    );
  }
  const direction = directionMask(v.confSelf, v.confOther, o.threshold);
  let count = 0;
  for (const x of direction) count += x;
  const [pos, shift, denominator, loss] = tf.tidy(() => {
    const pos = tf.div(tf.sum(tf.mul(v.anchors, stopGradient(v.partner)), -1), o.temperature) as tf.Tensor1D;
    const { shift, negSum } = negativeStatistics(v.anchors, pos, v.anchorLabels, v.negatives, {
      temperature: o.temperature,
      window: o.maxWindow,
    });
    const posExp = tf.exp(tf.sub(pos, shift));
    const denominator = tf.add(posExp, negSum) as tf.Tensor1D;
    const ratio = tf.div(posExp, tf.add(denominator, o.eps));
    const perAnchor = tf.neg(tf.log(tf.add(ratio, o.eps)));
    const loss = tf.div(tf.sum(tf.mul(perAnchor, tf.tensor1d(direction))), count + 1e-12) as tf.Scalar;
    return [pos, shift, denominator, loss];
  });
  return { loss, pos, shift, denominator, direction };
}
