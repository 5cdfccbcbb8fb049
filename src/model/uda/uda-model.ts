// The three copies of the segmentor a PiPa/HRDA step needs — student (trained), EMA
// teacher and frozen ImageNet model — over ONE module tree, plus the optional UDA extras
// (patch-contrast heads) that live outside the segmentor's key space.
import { ParamRegistry, ParamStore } from '../params.js';
import { Segmentor } from '../segmentor.js';
import type { SegmentorConfig } from '../segmentor-config.js';
import { declarePatchHeads } from '../losses/patch-contrast.js';

export interface UdaModelOptions {
  /** Declare the patch-contrast heads `project.*` / `classifier.*` (projection width). */
  patchHeads?: { projDim: number } | null;
}

/**
 * Parameters that never receive a gradient in the original and so are never touched by
 * AdamW there (p.grad is None → no update, no weight decay): cls_head is used only through
 * an argmax. TF.js would hand them zero gradients instead, so they are left out of the
 * trainable list.
 */
export const NEVER_TRAINED_PREFIXES: readonly string[] = ['cls_head.'];

export class UdaModel {
  readonly registry = new ParamRegistry();
  readonly segmentor: Segmentor;
  readonly student: ParamStore;
  readonly teacher: ParamStore;
  readonly imnet: ParamStore;
  /** Patch-contrast heads etc. (`project.*`, `classifier.*`), trainable; may be empty. */
  readonly extrasRegistry = new ParamRegistry();
  readonly extras: ParamStore;

  constructor(
    readonly cfg: SegmentorConfig,
    seed: number,
    o: UdaModelOptions = {},
  ) {
    this.segmentor = new Segmentor(this.registry, cfg);
    if (o.patchHeads) declarePatchHeads(this.extrasRegistry.scope(''), cfg.numClasses, o.patchHeads.projDim);
    this.student = new ParamStore(this.registry.specs, seed, true);
    this.teacher = new ParamStore(this.registry.specs, seed, false);
    this.imnet = new ParamStore(this.registry.specs, seed, false);
    this.extras = new ParamStore(this.extrasRegistry.specs, seed, true);
  }

  /** (name, variable) pairs the optimizer updates, in the fixed order of the fusion buffer. */
  trainable(): Array<[string, import('@tensorflow/tfjs').Variable]> {
    const keep = ([name]: [string, unknown]) => !NEVER_TRAINED_PREFIXES.some((p) => name.startsWith(p));
    return [...this.student.trainable().filter(keep), ...this.extras.trainable()];
  }

  /** Hash of every store's layout: equal iff two processes built the same model. */
  layoutHash(): string {
    return `${this.student.layoutHash().slice(0, 32)}${this.extras.layoutHash().slice(0, 32)}`;
  }

  dispose(): void {
    for (const s of [this.student, this.teacher, this.imnet, this.extras]) s.dispose();
  }
}
