// One optimisation step of PiPa + HRDA over k micro-batches, with an optional reduce
// across workers: EMA teacher update → per micro-batch gradients (udaStep) → mean →
// fusion buffer → reduce (ring all-reduce in a worker; identity alone) → skip if any rank
// saw a non-finite gradient → AdamW with the poly/warm-up lr → averaged BN statistics.
import * as tf from '@tensorflow/tfjs';
import { AdamW, type AdamWOptions } from '../optim/adamw.js';
import { polyWarmupLr, type PolyWarmupOptions } from '../optim/lr-schedule.js';
import { initEma, updateEma } from './ema-teacher.js';
import { FusionLayout } from './fusion-layout.js';
import { bumpBatchesTracked, disposeBnUpdates, runningStatsAfter } from './bn-updates.js';
import { udaStep, type PatchTerm, type StepInspector, type UdaStepOptions } from './uda-step.js';
import type { UdaBatch } from './batch-check.js';
import type { StepDraws } from './step-draws.js';
import type { UdaModel } from './uda-model.js';

export interface TrainerOptions {
  step: UdaStepOptions;
  optimizer: AdamWOptions & { lr: number };
  schedule: Omit<PolyWarmupOptions, 'baseLr'>;
  emaAlpha: number;
  /** The patch-contrast term (one per run: it may keep a feature bank) and its first iteration. */
  patch?: { term: PatchTerm & { dispose?(): void }; startIter: number } | null;
}

export interface StepReport {
  iter: number;
  skipped: boolean;
  /** Base lr of this iteration (backbone group). */
  lr: number;
  /** Loss parts averaged over micro-batches and ranks. */
  logs: Record<string, number>;
  ms: { compute: number; comm: number; optim: number };
}

/** Averages a buffer across workers (in place or as a new array). Identity for one process. */
export type Reduce = (buf: Float32Array) => Promise<Float32Array>;

export class UdaTrainer {
  readonly optimizer: AdamW;
  readonly layout: FusionLayout;
  /** 0-based iteration of the NEXT step. */
  iter = 0;

  constructor(
    readonly model: UdaModel,
    readonly o: TrainerOptions,
  ) {
    if (o.patch && !model.extras.has('project.0.weight')) {
      throw new Error('the patch contrast is enabled but the model has no patch heads (project.*); build the model with them (worker/model-options buildUdaModel)');
    }
    this.optimizer = new AdamW(model.trainable(), o.optimizer);
    this.layout = new FusionLayout(model.trainable(), model.student, model.teacher);
  }

  /** lr of a parameter group at `iter` (mmcv applies poly to each group's own base lr). */
  lrFor(iter: number, lrMult = 1): number {
    return polyWarmupLr(iter, { ...this.o.schedule, baseLr: this.o.optimizer.lr * lrMult });
  }

  /** SPEC §1.3 step 1: teacher := student at iteration 0, EMA afterwards. */
  private emaUpdate(): void {
    if (this.iter === 0) initEma(this.model.teacher, this.model.student);
    else updateEma(this.model.teacher, this.model.student, this.iter, this.o.emaAlpha);
  }

  /** Gradients etc. of this rank's micro-batches, packed into a fusion buffer. */
  computeLocal(micro: ReadonlyArray<{ batch: UdaBatch; draws: StepDraws }>, inspect?: StepInspector, iter = this.iter): Float32Array {
    const p = this.o.patch;
    const stepOptions: UdaStepOptions = { ...this.o.step, patch: p && iter >= p.startIter ? p.term : null };
    const k = micro.length;
    if (k === 0) throw new Error('computeLocal: no micro-batches');
    const gradSum = new Map<string, Float32Array>();
    const bnSum = new Map<string, Float32Array>();
    const logSum: Record<string, number> = {};
    for (const { batch, draws } of micro) {
      const r = udaStep(this.model, batch, draws, stepOptions, inspect);
      for (const [name, g] of r.grads) {
        const d = g.dataSync() as Float32Array;
        const acc = gradSum.get(name);
        if (acc) for (let i = 0; i < d.length; i++) acc[i] += d[i] / k;
        else gradSum.set(name, Float32Array.from(d, (x) => x / k));
        g.dispose();
      }
      const stats = [
        ...runningStatsAfter(this.model.student, r.studentBn, 'student'),
        ...runningStatsAfter(this.model.teacher, r.teacherBn, 'teacher'),
      ];
      for (const [key, v] of stats) {
        const acc = bnSum.get(key);
        if (acc) for (let i = 0; i < v.length; i++) acc[i] += v[i] / k;
        else bnSum.set(key, Float32Array.from(v, (x) => x / k));
      }
      // num_batches_tracked counts the BN calls of one micro-batch (identical on all ranks).
      if (draws === micro[0].draws) {
        bumpBatchesTracked(this.model.student, r.studentBn);
        bumpBatchesTracked(this.model.teacher, r.teacherBn);
      }
      disposeBnUpdates(r.studentBn);
      disposeBnUpdates(r.teacherBn);
      const logs = { ...r.logVars, loss: r.loss };
      for (const [key, v] of Object.entries(logs)) logSum[key] = (logSum[key] ?? 0) + v / k;
    }
    return this.layout.pack(gradSum, bnSum, logSum);
  }

  /** One full iteration. `reduce` averages the fusion buffer across ranks. */
  async step(micro: ReadonlyArray<{ batch: UdaBatch; draws: StepDraws }>, reduce: Reduce = async (b) => b, inspect?: StepInspector): Promise<StepReport> {
    const iter = this.iter;
    this.emaUpdate();
    const t0 = performance.now();
    const local = this.computeLocal(micro, inspect, iter);
    const t1 = performance.now();
    const buf = await reduce(local);
    const t2 = performance.now();
    const skipped = this.layout.nonFinite(buf);
    if (!skipped) {
      const grads = this.layout.unpackGrads(buf);
      try {
        this.optimizer.step(grads, (g) => this.lrFor(iter, g.lrMult));
      } finally {
        tf.dispose([...grads.values()]);
      }
      this.layout.assignBn(buf, this.model.student, this.model.teacher);
    }
    this.iter++;
    const t3 = performance.now();
    return { iter, skipped, lr: this.lrFor(iter), logs: this.layout.unpackLogs(buf), ms: { compute: t1 - t0, comm: t2 - t1, optim: t3 - t2 } };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.o.patch?.term.dispose?.();
  }
}
