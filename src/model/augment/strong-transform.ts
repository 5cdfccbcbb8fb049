// DACS `strong_transform` minus the mixing (which happens before, SPEC §1.3 step 7):
// colour jitter if cj > p, then Gaussian blur if bl > 0.5, on each mixed image. The two
// gates are drawn once per iteration and shared by every image; the jitter factors,
// op order and blur σ are drawn per image. Every draw is returned so a replay (or a
// test) can feed exactly the same parameters back.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../common/random.js';
import {
  colorJitterNormalizedPixels,
  drawColorJitterParams,
  validateColorJitterParams,
  type ColorJitterParams,
} from './color-jitter.js';
import { AugmentParamsError } from './errors.js';
import { gaussianBlurHWC } from './gaussian-blur.js';

/** The per-iteration gates: DACS `color_jitter = U(0,1)`, `blur = U(0,1)` (0 when blur is off). */
export interface StrongGates {
  cj: number;
  bl: number;
}

/** What was applied to one image (null = that op did not run). */
export interface StrongAugParams {
  jitter: ColorJitterParams | null;
  blurSigma: number | null;
}

export interface StrongTransformOptions {
  /** Jitter runs when cj > jitterP. Default 0.2. */
  jitterP?: number;
  /** kornia ColorJitter strength s for all four factors. Default 0.2. */
  jitterStrength?: number;
  /** DACS `blur` flag. Default true. */
  blur?: boolean;
  /** mmseg normalisation (0..255 scale), RGB. */
  mean: readonly number[];
  std: readonly number[];
}

export interface StrongTransformResult {
  image: tf.Tensor4D;
  params: StrongAugParams[];
}

/** Draw this iteration's gates (cj first, then bl, as DACS does). */
export function drawStrongGates(rng: Rng, blur = true): StrongGates {
  const cj = rng.random();
  const bl = blur ? rng.random() : 0;
  return { cj, bl };
}

/** σ ~ U(0.15, 1.15) for one image. */
export function drawBlurSigma(rng: Rng): number {
  return rng.uniform(0.15, 1.15);
}

/**
 * Apply the strong augmentation to every image of `img` (NHWC, normalised). With
 * `perImageParams` the given parameters are used (a replay) and `rng` is not touched;
 * otherwise each image draws its jitter parameters and then its σ from `rng`.
 * The caller keeps ownership of `img`; the result is a new tensor.
 */
export function strongTransform(
  img: tf.Tensor4D,
  gates: StrongGates,
  perImageParams: StrongAugParams[] | undefined,
  rng: Rng | undefined,
  opts: StrongTransformOptions,
): StrongTransformResult {
  const jitterP = opts.jitterP ?? 0.2;
  const strength = opts.jitterStrength ?? 0.2;
  const doJitter = gates.cj > jitterP;
  const doBlur = (opts.blur ?? true) && gates.bl > 0.5;
  const batch = img.shape[0];
  if (img.shape[3] !== 3) throw new AugmentParamsError(`strongTransform: expected NHWC RGB images, got shape [${img.shape}]`);
  if (perImageParams && perImageParams.length !== batch) {
    throw new AugmentParamsError(`strongTransform: ${perImageParams.length} parameter sets for ${batch} images`);
  }
  if (!perImageParams && !rng && (doJitter || doBlur)) {
    throw new AugmentParamsError('strongTransform: needs either perImageParams or an rng to draw them');
  }

  const params: StrongAugParams[] = [];
  for (let i = 0; i < batch; i++) {
    const given = perImageParams?.[i];
    let jitter: ColorJitterParams | null = null;
    let blurSigma: number | null = null;
    if (doJitter) {
      jitter = given ? given.jitter : drawColorJitterParams(rng!, strength);
      if (!jitter) throw new AugmentParamsError(`strongTransform: image ${i} must be jittered (cj ${gates.cj} > ${jitterP}) but its replayed params have no jitter`);
      validateColorJitterParams(jitter);
    }
    if (doBlur) {
      blurSigma = given ? given.blurSigma : drawBlurSigma(rng!);
      if (blurSigma === null || !(blurSigma > 0)) {
        throw new AugmentParamsError(`strongTransform: image ${i} must be blurred (bl ${gates.bl} > 0.5) but its σ is ${blurSigma}`);
      }
    }
    params.push({ jitter, blurSigma });
  }

  // One read of the batch, then per-image typed-array passes (see gaussian-blur.ts for why).
  const [, h, w, c] = img.shape;
  const n = h * w * c;
  const src = img.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < batch; i++) {
    let px: Float32Array = src.slice(i * n, (i + 1) * n);
    const p = params[i];
    if (p.jitter) colorJitterNormalizedPixels(px, p.jitter, opts.mean, opts.std);
    if (p.blurSigma !== null) px = gaussianBlurHWC(px, h, w, c, p.blurSigma);
    out.set(px, i * n);
  }
  const image = tf.tensor4d(out, img.shape, 'float32');
  return { image, params };
}
