// The batch contract between data/ and the trainer (see src/data/README.md).
// Images are NHWC float32, normalised (mmseg Normalize), RGB; labels are trainIds (255 = ignore).
import type { CropBox } from './transforms.js';

export interface SampleMeta {
  /** Image file the sample was cut from. */
  path: string;
  /** Label file (source samples). */
  labelPath?: string;
  /** Index of the file in its dataset listing. */
  index: number;
  /** Horizontally flipped after cropping. */
  flip: boolean;
  /** Crop box in the resized image (before padding). */
  crop: CropBox;
  /** [height, width] of the file and after the keep-ratio resize. */
  originalSize: [number, number];
  resizedSize: [number, number];
  /** Crop boxes drawn by RandomCrop (cat_max_ratio re-draws), summed over RCS re-runs. */
  cropDraws: number;
  /** Source only: the RCS class this sample was drawn for (null without RCS) and pipeline runs used. */
  rcsClass?: number | null;
  rcsRuns?: number;
}

/** One source sample: img [H,W,3] normalised, label [H,W] trainIds. */
export interface SourceSample {
  img: Float32Array;
  label: Uint8Array;
  height: number;
  width: number;
  meta: SampleMeta;
}

/** One target sample: img [H,W,3] normalised, validPseudoMask [H,W] in {0,1}. */
export interface TargetSample {
  img: Float32Array;
  validPseudoMask: Uint8Array;
  height: number;
  width: number;
  meta: SampleMeta;
}

/** This rank's part of one training step: B = globalBatch / world samples of each domain, stacked. */
export interface TrainBatch {
  step: number;
  /** Samples per domain in this batch (per-rank batch size). */
  size: number;
  height: number;
  width: number;
  /** Global sample indices (positions in the global batch) of the samples, in order. */
  globalIndices: number[];
  source: { img: Float32Array; label: Uint8Array; meta: SampleMeta[] };
  target: { img: Float32Array; validPseudoMask: Uint8Array; meta: SampleMeta[] };
  /** Files that could not be read while loading this batch (each replaced by a re-draw). */
  warnings: DataWarning[];
  /** Milliseconds the caller waited for this batch (0 when it was prefetched in time). */
  waitMs: number;
}

/** One evaluation image: test pipeline image [H,W,3] and the label at the file's resolution. */
export interface ValSample {
  img: Float32Array;
  height: number;
  width: number;
  label: Uint8Array;
  labelHeight: number;
  labelWidth: number;
  path: string;
  index: number;
}

/** A recoverable data problem (e.g. a corrupt file replaced by another draw). */
export interface DataWarning {
  path: string;
  reason: string;
  step?: number;
  globalIndex?: number;
}
