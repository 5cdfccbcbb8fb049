// Writes one synthetic image and its label file: GTA format (palette PNG whose indices are the
// Cityscapes ids) for the source, Cityscapes format (8-bit *_gtFine_labelIds.png) for the target.
import { rngFor } from '../../common/random.js';
import { encodeRgbPng, writeFileAtomic } from '../image-io.js';
import { cityscapesIdPalette } from '../labels.js';
import { encodePng } from '../png/encode.js';
import { renderScene } from './render.js';
import { generateScene } from './scene.js';
import type { SynthStyle } from './style.js';

export interface SynthJob {
  seed: number;
  domain: 'source' | 'target';
  split: 'train' | 'val';
  index: number;
  width: number;
  height: number;
  style: SynthStyle;
  imagePath: string;
  labelPath: string;
  labelFormat: 'palette' | 'grey';
}

const PALETTE = cityscapesIdPalette();

export async function writeSynthImage(job: SynthJob): Promise<{ image: string; label: string }> {
  // Layout and appearance use separate streams, so a style change never changes a layout.
  const scene = generateScene(rngFor(job.seed, 'synth', job.domain, job.split, job.index, 'layout'), job.width, job.height);
  const rgb = renderScene(scene, job.style, rngFor(job.seed, 'synth', job.domain, job.split, job.index, 'look'));
  const label = job.labelFormat === 'palette'
    ? encodePng({ width: job.width, height: job.height, colorType: 3, bitDepth: 8, data: scene.ids, palette: PALETTE })
    : encodePng({ width: job.width, height: job.height, colorType: 0, bitDepth: 8, data: scene.ids });
  const png = await encodeRgbPng({ data: rgb, width: job.width, height: job.height }, 3);
  await Promise.all([writeFileAtomic(job.imagePath, png), writeFileAtomic(job.labelPath, label)]);
  return { image: job.imagePath, label: job.labelPath };
}
