// Loads the samples of one global draw from disk and runs the pipelines. Used identically by the
// loader's worker threads and in-process, so a sample depends only on (seed, step, draw): its crop
// and flip come from rngFor(seed, 'sample', step, globalIndex, domain).
// A file that cannot be read is reported and replaced by a deterministic re-draw
// (rngFor(seed, 'redraw', step, globalIndex, domain, attempt)); after MAX_REDRAWS the error is thrown.
import { rngFor } from '../common/random.js';
import type { SampleFiles } from './datasets.js';
import { ImageReadError } from './errors.js';
import { readRgb, readTrainIds } from './image-io.js';
import {
  sourceSample, targetSample, testImage,
  type SourcePipelineConfig, type TargetPipelineConfig, type TestPipelineConfig,
} from './pipelines.js';
import type { RcsTable } from './rcs.js';
import type { SampleDraw } from './sharding.js';
import type { DataWarning, SourceSample, TargetSample, ValSample } from './types.js';

export const MAX_REDRAWS = 5;

/** Everything a worker needs to load training samples (structured-cloneable). */
export interface TrainDataSpec {
  seed: number;
  source: { samples: SampleFiles[] };
  target: { samples: SampleFiles[] };
  sourcePipeline: SourcePipelineConfig;
  targetPipeline: TargetPipelineConfig;
  rcs: RcsTable | null;
}

export interface ValDataSpec {
  samples: SampleFiles[];
  pipeline: TestPipelineConfig;
}

export interface LoadedDraw {
  source: SourceSample;
  target: TargetSample;
  warnings: DataWarning[];
}

async function withRedraws<T>(
  first: number, redraw: (attempt: number) => number, load: (index: number) => Promise<T>,
  warn: (path: string, reason: string) => void,
): Promise<T> {
  let index = first;
  for (let attempt = 0; ; attempt++) {
    try {
      return await load(index);
    } catch (e) {
      if (!(e instanceof ImageReadError) || attempt >= MAX_REDRAWS) throw e;
      warn(e.path, e.message);
      index = redraw(attempt);
    }
  }
}

export async function loadDraw(spec: TrainDataSpec, draw: SampleDraw, step: number): Promise<LoadedDraw> {
  const g = draw.globalIndex;
  const warnings: DataWarning[] = [];
  const warn = (path: string, reason: string) => warnings.push({ path, reason, step, globalIndex: g });
  const rcsK = spec.rcs && draw.source.rcsClass !== null ? spec.rcs.classes.indexOf(draw.source.rcsClass) : -1;
  const rcsRule = rcsK >= 0
    ? { cls: draw.source.rcsClass!, minCropPixels: spec.rcs!.config.minPixels * spec.rcs!.config.minCropRatio, maxReruns: 10 }
    : null;

  const source = await withRedraws(
    draw.source.index,
    (attempt) => {
      const r = rngFor(spec.seed, 'redraw', step, g, 'source', attempt);
      if (rcsK >= 0) {
        const files = spec.rcs!.samplesByClass[rcsK];
        return files[r.randint(0, files.length)];
      }
      return r.randint(0, spec.source.samples.length);
    },
    async (index) => {
      const files = spec.source.samples[index];
      if (!files.label) throw new ImageReadError(files.image, 'source sample has no label');
      const [img, label] = await Promise.all([readRgb(files.image), readTrainIds(files.label)]);
      const rng = rngFor(spec.seed, 'sample', step, g, 'source');
      return sourceSample(img, label, spec.sourcePipeline, rng, { path: files.image, labelPath: files.label, index }, rcsRule);
    },
    warn,
  );

  const target = await withRedraws(
    draw.target.index,
    (attempt) => rngFor(spec.seed, 'redraw', step, g, 'target', attempt).randint(0, spec.target.samples.length),
    async (index) => {
      const files = spec.target.samples[index];
      const img = await readRgb(files.image);
      return targetSample(img, spec.targetPipeline, rngFor(spec.seed, 'sample', step, g, 'target'), { path: files.image, index });
    },
    warn,
  );
  return { source, target, warnings };
}

/** One validation image through the test pipeline, with its label at file resolution. */
export async function loadValSample(spec: ValDataSpec, index: number): Promise<ValSample> {
  const files = spec.samples[index];
  if (!files.label) throw new ImageReadError(files.image, 'validation sample has no label');
  const [img, label] = await Promise.all([readRgb(files.image), readTrainIds(files.label)]);
  const t = testImage(img, spec.pipeline);
  return { ...t, label: label.data, labelHeight: label.height, labelWidth: label.width, path: files.image, index };
}
