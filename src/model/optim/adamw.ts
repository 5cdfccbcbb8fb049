// AdamW exactly as torch.optim.AdamW (PyTorch 1.7, amsgrad off), with mmcv param groups.
//
// Per parameter p with gradient g, at that parameter's own step count t (PyTorch keeps
// `state['step']` per parameter; a parameter whose grad is None is skipped entirely —
// no decay, no moment update, no step increment):
//   p ← p·(1 − lr·wd)                         (decoupled decay, first)
//   m ← β1·m + (1−β1)·g
//   v ← β2·v + ((1−β2)·g)·g
//   denom = sqrt(v) / sqrt(1−β2^t) + eps
//   p ← p + ((−lr/(1−β1^t))·m) / denom
// The float32 operation order above is PyTorch's CPU kernel order (add_ with alpha,
// addcmul_, addcdiv_); every scalar is computed in float64 and rounded to float32 when
// it meets a tensor, as PyTorch does with Python scalars.
//
// Why per-parameter steps matter for PiPa: `cls_head` and `classifier` never get a
// gradient (so they are never decayed), and `project` gets its first gradient at
// iteration 10000, so its bias corrections start from t = 1 there.
//
// A gradient missing from step()'s map means p.grad is None only if the parameter never
// had one: PyTorch ≤ 1.13's optimizer.zero_grad() ZEROES existing grads (set_to_none=False),
// so once a parameter has been stepped, a later iteration without a gradient still
// decays it and decays its moments (g = 0). That is the default ('zero-after-first');
// 'skip' skips every parameter missing from the map.
import * as tf from '@tensorflow/tfjs';
import { paramGroupFor, type ParamGroupMults } from './param-groups.js';

export interface AdamWOptions {
  /** Base weight decay (×decayMult per group). Default 0.01. */
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  /** name → {lrMult, decayMult}. Default: PiPa's mmcv custom keys. */
  groupFor?: (name: string) => ParamGroupMults;
  /** What a parameter missing from step()'s map means (see the file comment). Default 'zero-after-first'. */
  missingGradient?: 'zero-after-first' | 'skip';
}

/** The lr of this iteration: the BASE lr (×lrMult per group), or a function giving a group's lr. */
export type IterationLr = number | ((group: ParamGroupMults) => number);

/** Serialisable optimiser state (TF.js layout, flattened). Only parameters that were ever updated appear in m/v/paramSteps. */
export interface AdamWState {
  /** Number of step() calls. */
  step: number;
  /** PyTorch's per-parameter `state['step']`. */
  paramSteps: Map<string, number>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamWError extends Error {
  override name = 'AdamWError';
}

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
}

export class AdamW {
  private readonly params: Array<[string, tf.Variable]>;
  private readonly byName = new Map<string, tf.Variable>();
  private readonly slots = new Map<string, Slot>();
  private readonly weightDecay: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly groupFor: (name: string) => ParamGroupMults;
  private readonly missingGradient: 'zero-after-first' | 'skip';
  private steps = 0;

  constructor(params: Array<[string, tf.Variable]>, opts: AdamWOptions = {}) {
    this.params = params;
    for (const [name, p] of params) {
      if (this.byName.has(name)) throw new AdamWError(`AdamW: parameter '${name}' given twice`);
      if (p.dtype !== 'float32') throw new AdamWError(`AdamW: parameter '${name}' is ${p.dtype}, only float32 is trainable`);
      this.byName.set(name, p);
    }
    this.weightDecay = opts.weightDecay ?? 0.01;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.groupFor = opts.groupFor ?? paramGroupFor;
    this.missingGradient = opts.missingGradient ?? 'zero-after-first';
  }

  /** lr and weight decay this parameter uses at an iteration whose base lr is `lr`. */
  hyperparams(name: string, lr: IterationLr): { lr: number; weightDecay: number } {
    const g = this.groupFor(name);
    return { lr: typeof lr === 'function' ? lr(g) : lr * g.lrMult, weightDecay: this.weightDecay * g.decayMult };
  }

  /**
   * One optimiser step. A parameter with no entry in `grads` is skipped if it never had
   * a gradient (PyTorch: p.grad is None); after its first gradient it steps with g = 0
   * (PyTorch's zero_grad) unless missingGradient is 'skip'.
   */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: IterationLr): void {
    for (const name of grads.keys()) {
      if (!this.byName.has(name)) throw new AdamWError(`AdamW.step: gradient for unknown parameter '${name}'`);
    }
    for (const [name, p] of this.params) {
      const given = grads.get(name);
      if (!given && (this.missingGradient === 'skip' || !this.slots.has(name))) continue;
      if (given && !tf.util.arraysEqual(given.shape, p.shape)) {
        throw new AdamWError(`AdamW.step: gradient of '${name}' has shape [${given.shape}], parameter has [${p.shape}]`);
      }
      const hp = this.hyperparams(name, lr);
      const slot = this.slotFor(name, p);
      slot.step += 1;
      const bc1 = 1 - this.beta1 ** slot.step;
      const bc2 = 1 - this.beta2 ** slot.step;
      const stepSize = hp.lr / bc1;
      const decay = 1 - hp.lr * hp.weightDecay;
      tf.tidy(() => {
        const g = given ?? tf.zerosLike(p);
        const decayed = tf.mul(p, decay);
        const m = tf.add(tf.mul(slot.m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(slot.v, this.beta2), tf.mul(tf.mul(g, 1 - this.beta2), g));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        const updated = tf.add(decayed, tf.div(tf.mul(m, -stepSize), denom));
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(updated);
      });
    }
    this.steps += 1;
  }

  /** A copy of the state (for checkpoints and for handing to a newly joined worker). */
  state(): AdamWState {
    const s: AdamWState = { step: this.steps, paramSteps: new Map(), m: new Map(), v: new Map() };
    for (const [name] of this.params) {
      const slot = this.slots.get(name);
      if (!slot) continue;
      s.paramSteps.set(name, slot.step);
      s.m.set(name, Float32Array.from(slot.m.dataSync() as Float32Array));
      s.v.set(name, Float32Array.from(slot.v.dataSync() as Float32Array));
    }
    return s;
  }

  /** Replace the whole state; parameters absent from `s` start fresh (step 0, zero moments). */
  loadState(s: AdamWState): void {
    for (const name of s.paramSteps.keys()) {
      const p = this.byName.get(name);
      if (!p) throw new AdamWError(`AdamW.loadState: state has parameter '${name}' that this optimiser does not hold`);
      const m = s.m.get(name);
      const v = s.v.get(name);
      if (!m || !v) throw new AdamWError(`AdamW.loadState: parameter '${name}' has a step count but no m/v`);
      if (m.length !== p.size || v.length !== p.size) {
        throw new AdamWError(`AdamW.loadState: '${name}' has ${p.size} elements but m/v hold ${m.length}/${v.length}`);
      }
    }
    for (const name of [...s.m.keys(), ...s.v.keys()]) {
      if (!s.paramSteps.has(name)) throw new AdamWError(`AdamW.loadState: m/v for '${name}' without a step count`);
    }
    this.disposeSlots();
    for (const [name, step] of s.paramSteps) {
      const p = this.byName.get(name)!;
      const slot = this.slotFor(name, p);
      slot.step = step;
      tf.tidy(() => {
        slot.m.assign(tf.tensor(s.m.get(name)!, p.shape, 'float32'));
        slot.v.assign(tf.tensor(s.v.get(name)!, p.shape, 'float32'));
      });
    }
    this.steps = s.step;
  }

  dispose(): void {
    this.disposeSlots();
  }

  private slotFor(name: string, p: tf.Variable): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = {
        m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        step: 0,
      };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private disposeSlots(): void {
    for (const slot of this.slots.values()) {
      slot.m.dispose();
      slot.v.dispose();
    }
    this.slots.clear();
  }
}
