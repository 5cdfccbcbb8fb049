// Every random decision of one UDA iteration, drawn up front from streams derived from
// (seed, iteration, micro-batch, purpose) — so a step is reproducible, independent of the
// number of workers, and any draw can be replaced by a recorded one for a replay.
import { rngFor, type Rng } from '../../common/random.js';
import type { CropBox } from '../hrda/crop-box.js';
import type { Segmentor } from '../segmentor.js';
import type { StrongAugParams, StrongGates } from '../augment/strong-transform.js';
import { drawStrongGates } from '../augment/strong-transform.js';
import type { PermutationSource } from '../losses/anchor-sampling.js';
import { rngChooser, type ClassChooser } from './class-mix.js';

export interface StepDraws {
  /** HR detail crop boxes (y1,y2,x1,x2): [stage 1 source, stage 2 mixed]. */
  boxes: [CropBox, CropBox];
  /** ClassMix class choices per image. */
  classChooser: ClassChooser;
  /** torch.randperm stand-in for the pixel-contrast anchor sampling. */
  pixelPerms: PermutationSource;
  /** DACS colour-jitter / blur gates of this iteration. */
  gates: StrongGates;
  /** Replayed per-image jitter/blur parameters; drawn from augRng when absent. */
  augParams?: StrongAugParams[];
  augRng: Rng;
  /** Dropout, Dropout2d and DropPath masks. */
  dropoutRng: Rng;
  /** Patch-contrast randomness (pair geometry, negatives). */
  patchRng: Rng;
}

/** Fresh draws for micro-batch `micro` of iteration `iter` on images of imgH×imgW. */
export function drawStep(seed: number, iter: number, micro: number, segmentor: Segmentor, imgH: number, imgW: number, blur: boolean): StepDraws {
  const r = (purpose: string) => rngFor(seed, 'iter', iter, 'micro', micro, purpose);
  const crops = r('hr-crop');
  return {
    boxes: [segmentor.randomCropBox(crops, imgH, imgW), segmentor.randomCropBox(crops, imgH, imgW)],
    classChooser: rngChooser(r('classmix')),
    pixelPerms: r('pixel-contrast'),
    gates: drawStrongGates(r('strong-gates'), blur),
    augRng: r('strong-params'),
    dropoutRng: r('dropout'),
    patchRng: r('patch-contrast'),
  };
}
