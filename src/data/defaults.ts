// Pipeline settings of the original configs (SPEC §4.3): gtaHR2csHR_hrda.py / synHR2csHR_hrda.py.
// Scaled-down runs (e.g. the synthetic 256² data) override resizeScale/crop/margins.
import type { SourcePipelineConfig, TargetPipelineConfig, TestPipelineConfig } from './pipelines.js';
import { IMAGENET_NORMALISATION } from './transforms.js';

export const GTA_PIPELINE: SourcePipelineConfig = {
  resizeScale: [2560, 1440], crop: [1024, 1024], catMaxRatio: 0.75, flipProb: 0.5, norm: IMAGENET_NORMALISATION,
};

export const SYNTHIA_PIPELINE: SourcePipelineConfig = { ...GTA_PIPELINE, resizeScale: [2560, 1520] };

export const CITYSCAPES_TRAIN_PIPELINE: TargetPipelineConfig = {
  resizeScale: [2048, 1024], crop: [1024, 1024], flipProb: 0.5, norm: IMAGENET_NORMALISATION, pseudoMargins: [30, 240, 30, 30],
};

export const CITYSCAPES_TEST_PIPELINE: TestPipelineConfig = { resizeScale: [2048, 1024], norm: IMAGENET_NORMALISATION };

export function sourcePipelineFor(kind: 'gta' | 'synthia'): SourcePipelineConfig {
  return kind === 'gta' ? GTA_PIPELINE : SYNTHIA_PIPELINE;
}
