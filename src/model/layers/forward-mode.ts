// How a forward pass runs: which BatchNorm statistics, whether stochastic layers are on,
// and where batch-statistics BN layers report their running-stat updates.
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';

/** One BatchNorm call's batch statistics, kept (tf.keep) until the caller applies them. */
export interface BnUpdate {
  /** Key prefix of the BN layer, e.g. `decode_head.head.fuse_layer.bottleneck.bn`. */
  prefix: string;
  mean: tf.Tensor1D;
  /** Unbiased variance (n/(n−1)), which is what PyTorch puts into running_var. */
  varUnbiased: tf.Tensor1D;
}

export interface ForwardMode {
  /**
   * 'batch': normalise with the batch statistics (training, and the EMA teacher while
   * it makes pseudo-labels — SPEC §1.3 step 5); 'running': use running_mean/var (eval).
   */
  bn: 'batch' | 'running';
  /** Dropout, Dropout2d and DropPath active (training only). */
  stochastic: boolean;
  /** Seeds for dropout masks when `stochastic`. */
  rng?: Rng;
  /** If set, batch-mode BN layers append their statistics here, in call order. */
  bnUpdates?: BnUpdate[];
}

/** Evaluation: running statistics, no dropout. */
export const EVAL_MODE: ForwardMode = { bn: 'running', stochastic: false };
