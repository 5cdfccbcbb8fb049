// Sample predictions for the report. Convention in `<run>/samples/`:
//   <name>.image.png  <name>.pred.png  <name>.gt.png   one row: image | prediction | ground truth
//   <name>.png                                         a ready-made panel, shown as is
// Names sort in time order when they start with a zero-padded iteration (it040000_…); the
// report shows the last few. writeSample() produces the triplet from raw arrays.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../data/png/encode.js';
import { CLASS_PALETTE } from '../data/labels.js';

export const SAMPLE_PARTS = ['image', 'pred', 'gt'] as const;
export type SamplePart = (typeof SAMPLE_PARTS)[number];

export interface SampleRow {
  name: string;
  /** Paths of the parts present; `panel` for a single ready-made image. */
  files: Partial<Record<SamplePart | 'panel', string>>;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Sample rows found in `dir`, in name order (empty when the folder does not exist). */
export function listSamples(dir: string): SampleRow[] {
  if (!existsSync(dir)) return [];
  const rows = new Map<string, SampleRow>();
  for (const f of readdirSync(dir).sort()) {
    if (!f.toLowerCase().endsWith('.png')) continue;
    const m = /^(.*)\.(image|pred|gt)\.png$/i.exec(f);
    const name = m ? m[1] : f.slice(0, -4);
    const part = (m ? m[2].toLowerCase() : 'panel') as SamplePart | 'panel';
    const row = rows.get(name) ?? { name, files: {} };
    row.files[part] = join(dir, f);
    rows.set(name, row);
  }
  return [...rows.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `data:` URI of a PNG, or null when the file is not a PNG (a broken image is left out, not embedded). */
export function pngDataUri(path: string): string | null {
  const b = readFileSync(path);
  if (b.length < 8 || !b.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  return `data:image/png;base64,${b.toString('base64')}`;
}

/** The 19-class palette as PNG palette bytes; every other index (255 = ignore) is black. */
function labelPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  CLASS_PALETTE.forEach((rgb, i) => p.set(rgb, i * 3));
  return p;
}

export interface SampleArrays {
  width: number;
  height: number;
  /** RGB, HWC, 0..255. */
  image: Uint8Array;
  /** trainIds, H·W. */
  pred: Uint8Array;
  /** trainIds with IGNORE_INDEX for unlabeled, H·W. */
  gt: Uint8Array;
}

export class SampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SampleError';
  }
}

/** Writes `<dir>/<name>.{image,pred,gt}.png` (labels as palette PNGs, each file atomically). */
export function writeSample(dir: string, name: string, s: SampleArrays): string[] {
  const px = s.width * s.height;
  if (s.image.length !== px * 3) throw new SampleError(`sample ${name}: image has ${s.image.length} bytes, expected ${px * 3} (${s.width}×${s.height} RGB)`);
  for (const k of ['pred', 'gt'] as const) {
    if (s[k].length !== px) throw new SampleError(`sample ${name}: ${k} has ${s[k].length} labels, expected ${px}`);
  }
  if (!/^[\w.-]+$/.test(name) || /\.(image|pred|gt)$/.test(name)) throw new SampleError(`sample name '${name}' must be [A-Za-z0-9_.-] and not end in a part name`);
  mkdirSync(dir, { recursive: true });
  const palette = labelPalette();
  const files: Array<[SamplePart, Buffer]> = [
    ['image', encodePng({ width: s.width, height: s.height, colorType: 2, bitDepth: 8, data: s.image })],
    ['pred', encodePng({ width: s.width, height: s.height, colorType: 3, bitDepth: 8, data: s.pred, palette })],
    ['gt', encodePng({ width: s.width, height: s.height, colorType: 3, bitDepth: 8, data: s.gt, palette })],
  ];
  return files.map(([part, png]) => {
    const path = join(dir, `${name}.${part}.png`);
    writeFileSync(`${path}.tmp`, png);
    renameSync(`${path}.tmp`, path);
    return path;
  });
}

