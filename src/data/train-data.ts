// Opens the source and target datasets of a training run from their folders and builds what the
// loader needs: the file listings, pipelines, the RCS table and the draw space for sharding.
import { openDataset, type Split } from './datasets.js';
import { CITYSCAPES_TEST_PIPELINE, CITYSCAPES_TRAIN_PIPELINE, sourcePipelineFor } from './defaults.js';
import type { SourcePipelineConfig, TargetPipelineConfig, TestPipelineConfig } from './pipelines.js';
import { CLASS_NAMES } from './labels.js';
import { loadRcsTable, RCS_DEFAULTS, type RcsConfig } from './rcs.js';
import type { ValDataSpec, TrainDataSpec } from './sample-loader.js';
import type { DrawSpace } from './sharding.js';

export interface TrainDataOptions {
  seed: number;
  source: { kind: 'gta' | 'synthia'; root: string; pipeline?: Partial<SourcePipelineConfig> };
  target: { root: string; pipeline?: Partial<TargetPipelineConfig> };
  /** Rare Class Sampling settings; null samples source files uniformly. Default SPEC §4.4. */
  rcs?: RcsConfig | null;
}

export interface TrainData {
  spec: TrainDataSpec;
  space: DrawSpace;
  /** Human-readable notes (files without labels, RCS classes without qualifying files). */
  notes: string[];
}

export function openTrainData(o: TrainDataOptions): TrainData {
  const source = openDataset(o.source.kind, o.source.root, { requireLabels: true });
  const target = openDataset('cityscapes', o.target.root, { split: 'train', requireLabels: false });
  const rcsCfg = o.rcs === undefined ? RCS_DEFAULTS : o.rcs;
  const rcs = rcsCfg ? loadRcsTable(o.source.root, o.source.kind, source.samples, rcsCfg) : null;
  const notes: string[] = [];
  if (source.missingLabels.length > 0) {
    notes.push(`${source.missingLabels.length} source images have no prepared label and are not used (first: ${source.missingLabels[0]})`);
  }
  if (rcs && rcs.excludedClasses.length > 0) {
    notes.push(`RCS: no source file has more than ${rcsCfg!.minPixels} pixels of ${rcs.excludedClasses.map((c) => CLASS_NAMES[c]).join(', ')}; these classes are not drawn`);
  }
  const spec: TrainDataSpec = {
    seed: o.seed,
    source: { samples: source.samples },
    target: { samples: target.samples },
    sourcePipeline: { ...sourcePipelineFor(o.source.kind), ...o.source.pipeline },
    targetPipeline: { ...CITYSCAPES_TRAIN_PIPELINE, ...o.target.pipeline },
    rcs,
  };
  return { spec, space: { sourceCount: source.samples.length, targetCount: target.samples.length, rcs }, notes };
}

/** Cityscapes-layout validation set (images + prepared labels) with the test pipeline. */
export function openValData(
  root: string, opts: { split?: Split; pipeline?: Partial<TestPipelineConfig> } = {},
): { spec: ValDataSpec; missingLabels: string[] } {
  const ds = openDataset('cityscapes', root, { split: opts.split ?? 'val', requireLabels: true });
  return { spec: { samples: ds.samples, pipeline: { ...CITYSCAPES_TEST_PIPELINE, ...opts.pipeline } }, missingLabels: ds.missingLabels };
}
