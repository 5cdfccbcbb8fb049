// Evaluation of a set of validation images: HRDA slide inference with the given weights
// (the student, BN in eval mode), rescaled to each label's resolution, argmax, and the
// counts added to an integer confusion matrix that shards can merge exactly.
import * as tf from '@tensorflow/tfjs';
import { ConfusionMatrix } from '../common/confusion-matrix.js';
import { EVAL_MODE } from '../model/layers/forward-mode.js';
import type { ParamSource } from '../model/params.js';
import type { Segmentor } from '../model/segmentor.js';
import type { ValSample } from '../data/types.js';

export interface EvalOptions {
  numClasses: number;
  /** Called with every prediction (e.g. to write --show-dir images or Cityscapes PNGs). */
  onPrediction?: (sample: ValSample, pred: Int32Array) => void | Promise<void>;
  /** Called after each image, for progress. */
  onProgress?: (done: number) => void;
}

/** Class map [H,W] (at the label's resolution) for one test image. */
export function predictImage(seg: Segmentor, weights: ParamSource, s: ValSample): Int32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(s.img, [1, s.height, s.width, 3]);
    const probs = seg.slideInference(weights, x, [s.labelHeight, s.labelWidth], EVAL_MODE);
    return tf.argMax(probs, -1).dataSync() as Int32Array;
  });
}

export async function evaluateSamples(seg: Segmentor, weights: ParamSource, samples: AsyncIterable<ValSample>, o: EvalOptions): Promise<ConfusionMatrix> {
  const cm = new ConfusionMatrix(o.numClasses);
  let done = 0;
  for await (const s of samples) {
    const pred = predictImage(seg, weights, s);
    cm.add(pred, s.label, s.path);
    await o.onPrediction?.(s, pred);
    o.onProgress?.(++done);
  }
  return cm;
}
