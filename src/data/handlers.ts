// The tasks a data worker runs. One dispatcher for every kind of data work, so one worker entry
// and one pool serve the loader, prepare-data and the synthetic generator.
import { DataConfigError } from './errors.js';
import { convertLabelFile, type ConvertJob } from './prepare/convert.js';
import { loadDraw, loadValSample, type TrainDataSpec, type ValDataSpec } from './sample-loader.js';
import type { SampleDraw } from './sharding.js';
import { writeSynthImage, type SynthJob } from './synth/generate-one.js';

export interface WorkerContext {
  train?: TrainDataSpec;
  val?: ValDataSpec;
}

export type WorkerTask =
  | { type: 'train-draw'; draw: SampleDraw; step: number }
  | { type: 'val'; index: number }
  | { type: 'convert'; job: ConvertJob }
  | { type: 'synth'; job: SynthJob };

export interface TaskOutput {
  result: unknown;
  transfer?: ArrayBuffer[];
}

export async function handleTask(ctx: WorkerContext, task: WorkerTask): Promise<TaskOutput> {
  switch (task.type) {
    case 'train-draw': {
      if (!ctx.train) throw new DataConfigError('train-draw task on a pool without a training data spec');
      const r = await loadDraw(ctx.train, task.draw, task.step);
      const transfer = [r.source.img.buffer, r.source.label.buffer, r.target.img.buffer, r.target.validPseudoMask.buffer] as ArrayBuffer[];
      return { result: r, transfer };
    }
    case 'val': {
      if (!ctx.val) throw new DataConfigError('val task on a pool without a validation data spec');
      const r = await loadValSample(ctx.val, task.index);
      return { result: r, transfer: [r.img.buffer, r.label.buffer] as ArrayBuffer[] };
    }
    case 'convert':
      return { result: await convertLabelFile(task.job) };
    case 'synth':
      return { result: await writeSynthImage(task.job) };
  }
}
