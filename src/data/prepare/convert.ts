// Converts one original label file to *_labelTrainIds.png (SPEC §5.3) and returns its class
// statistics — the per-file work of the original tools/convert_datasets/{gta,cityscapes,synthia}.py.
// The paired image is checked first, so a missing/corrupt image or a size mismatch skips the file.
import { existsSync } from 'node:fs';
import { ImageReadError } from '../errors.js';
import { readImageSize, readLabelPng, readRgb, readTrainIds, writeFileAtomic } from '../image-io.js';
import {
  CITYSCAPES_ID_TO_TRAIN, CITYSCAPES_LABELS, GTA_ID_TO_TRAIN, SYNTHIA_ID_TO_TRAIN, lookupTable, mapLabels,
} from '../labels.js';
import type { DatasetKind } from '../datasets.js';
import { encodeGreyPng } from '../png/encode.js';
import type { DecodedPng } from '../png/decode.js';
import { classCounts } from '../rcs.js';

export type ImageCheck = 'decode' | 'header' | 'none';

export interface ConvertJob {
  kind: DatasetKind;
  /** Original label file. */
  rawLabel: string;
  /** Output *_labelTrainIds.png. */
  output: string;
  /** The image the label belongs to. */
  image: string;
  imageCheck: ImageCheck;
  /** Skip the conversion when the output already exists (its statistics are read back). */
  resume: boolean;
  /** Return per-class pixel counts (Cityscapes: train split only). */
  stats: boolean;
}

export type ConvertResult =
  | { ok: true; resumed: boolean; counts: Array<[number, number]> | null }
  | { ok: false; path: string; reason: string };

const LUT_8 = {
  gta: lookupTable(GTA_ID_TO_TRAIN, 256),
  cityscapes: lookupTable(CITYSCAPES_ID_TO_TRAIN, 256),
  synthia: lookupTable(SYNTHIA_ID_TO_TRAIN, 256),
};
const LUT_16 = { synthia: lookupTable(SYNTHIA_ID_TO_TRAIN, 65536) };

/** Colour-coded (RGB) label images: map each colour back to its Cityscapes id (unknown → 255). */
function colourToIds(png: DecodedPng): Uint8Array {
  const byColour = new Map<number, number>();
  for (const l of [...CITYSCAPES_LABELS].reverse()) byColour.set((l.color[0] << 16) | (l.color[1] << 8) | l.color[2], l.id);
  const n = png.width * png.height, ch = png.channels, s = png.samples;
  const out = new Uint8Array(n);
  for (let i = 0, k = 0; i < n; i++, k += ch) out[i] = byColour.get((s[k] << 16) | (s[k + 1] << 8) | s[k + 2]) ?? 255;
  return out;
}

/** trainIds of one original label file. */
export function toTrainIds(kind: DatasetKind, png: DecodedPng, values: Uint8Array | Uint16Array): Uint8Array {
  if (kind === 'synthia') return mapLabels(values, values instanceof Uint16Array ? LUT_16.synthia : LUT_8.synthia);
  if (values instanceof Uint16Array) return mapLabels(values, lookupTable(kind === 'gta' ? GTA_ID_TO_TRAIN : CITYSCAPES_ID_TO_TRAIN, 65536));
  // GTA5 labels are palette PNGs (index = id); a colour-coded RGB variant is mapped back through the palette.
  if (png.colorType === 2 || png.colorType === 6) return mapLabels(colourToIds(png), LUT_8[kind]);
  return mapLabels(values, LUT_8[kind]);
}

async function checkImage(job: ConvertJob, width: number, height: number): Promise<void> {
  if (job.imageCheck === 'none') {
    if (!existsSync(job.image)) throw new ImageReadError(job.image, 'file not found');
    return;
  }
  const size = job.imageCheck === 'decode' ? await readRgb(job.image) : await readImageSize(job.image);
  if (size.width !== width || size.height !== height) {
    throw new ImageReadError(job.image, `image is ${size.width}×${size.height} but its label ${job.rawLabel} is ${width}×${height}`);
  }
}

export async function convertLabelFile(job: ConvertJob): Promise<ConvertResult> {
  try {
    if (job.resume && existsSync(job.output)) {
      try {
        const done = await readTrainIds(job.output);
        return { ok: true, resumed: true, counts: job.stats ? classCounts(done.data) : null };
      } catch {
        // An unreadable output (e.g. from another tool) is converted again below.
      }
    }
    const { png, values } = await readLabelPng(job.rawLabel);
    await checkImage(job, png.width, png.height);
    const trainIds = toTrainIds(job.kind, png, values);
    await writeFileAtomic(job.output, encodeGreyPng(trainIds, png.width, png.height));
    return { ok: true, resumed: false, counts: job.stats ? classCounts(trainIds) : null };
  } catch (e) {
    if (e instanceof ImageReadError) return { ok: false, path: e.path, reason: e.message };
    return { ok: false, path: job.rawLabel, reason: (e as Error).message };
  }
}
