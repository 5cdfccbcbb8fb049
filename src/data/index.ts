// Public API of the data layer (see README.md in this folder for the batch contract and layout).
export * from './errors.js';
export * from './types.js';
export { CLASS_NAMES, CLASS_PALETTE, IGNORE_INDEX, NUM_CLASSES } from './labels.js';
export { openDataset, type DatasetIndex, type DatasetKind, type SampleFiles, type Split } from './datasets.js';
export { prepareData, type PrepareOptions, type PrepareProgress, type PrepareSummary } from './prepare/prepare-data.js';
export type { ImageCheck } from './prepare/convert.js';
export { loadRcsTable, RCS_DEFAULTS, type RcsConfig, type RcsTable } from './rcs.js';
export { samplesForStep, sliceForRank, valShard, type DrawSpace, type SampleDraw } from './sharding.js';
export {
  sourceSample, targetSample, testImage,
  type SourcePipelineConfig, type TargetPipelineConfig, type TestPipelineConfig,
} from './pipelines.js';
export { CITYSCAPES_TEST_PIPELINE, CITYSCAPES_TRAIN_PIPELINE, GTA_PIPELINE, SYNTHIA_PIPELINE } from './defaults.js';
export { IMAGENET_NORMALISATION, type Normalisation, type PseudoMargins } from './transforms.js';
export { openTrainData, openValData, type TrainData, type TrainDataOptions } from './train-data.js';
export type { TrainDataSpec, ValDataSpec } from './sample-loader.js';
export { TrainLoader, valSamples, type TrainLoaderOptions } from './loader.js';
export { generateSynthDataset, type SynthOptions, type SynthSummary } from './synth/generate.js';
export { parseStyle, STYLE_ATOMS, STYLE_PRESETS, type SynthStyle } from './synth/style.js';
