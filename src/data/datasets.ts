// Dataset readers for the original project's folder layout (SPEC §6.1):
//   gta/        images/<name>.png            labels/<name>.png (palette, Cityscapes ids)  → labels/<name>_labelTrainIds.png
//   synthia/    RGB/<name>.png               GT/LABELS/<name>.png (16-bit, id in R)        → GT/LABELS/<name>_labelTrainIds.png
//   cityscapes/ leftImg8bit/<split>/<city>/<n>_leftImg8bit.png
//               gtFine/<split>/<city>/<n>_gtFine_labelIds.png                             → <n>_gtFine_labelTrainIds.png
// Listings are sorted by path (mmseg sorts by file name), so indices are stable across machines.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DataLayoutError, DataNotPreparedError } from './errors.js';

export type DatasetKind = 'gta' | 'synthia' | 'cityscapes';
export type Split = 'train' | 'val';

export interface SampleFiles {
  /** Image path (root joined with the relative path). */
  image: string;
  /** Prepared trainId label path, or null when labels are not needed. */
  label: string | null;
}

export interface DatasetIndex {
  kind: DatasetKind;
  root: string;
  split: Split | null;
  samples: SampleFiles[];
  /** Images left out because their prepared label is missing. */
  missingLabels: string[];
}

interface Layout {
  title: string;
  imageDir: string;
  labelDir: string;
  imageSuffix: string;
  /** Image relative path → prepared label relative path (inside labelDir). */
  labelFor: (rel: string) => string;
  /** Accepts raw label file names (GTA/Synthia: ends in a digit + .png). */
  isRawLabel: (name: string) => boolean;
}

const TRAIN_IDS = '_labelTrainIds.png';
const digitPng = (name: string) => /\d\.png$/.test(name);

export function layoutOf(kind: DatasetKind, split: Split = 'train'): Layout {
  switch (kind) {
    case 'gta':
      return {
        title: 'GTA5', imageDir: 'images', labelDir: 'labels', imageSuffix: '.png',
        labelFor: (rel) => rel.slice(0, -'.png'.length) + TRAIN_IDS, isRawLabel: digitPng,
      };
    case 'synthia':
      return {
        title: 'SYNTHIA-RAND-CITYSCAPES', imageDir: 'RGB', labelDir: join('GT', 'LABELS'), imageSuffix: '.png',
        labelFor: (rel) => rel.slice(0, -'.png'.length) + TRAIN_IDS, isRawLabel: digitPng,
      };
    case 'cityscapes':
      return {
        title: 'Cityscapes', imageDir: join('leftImg8bit', split), labelDir: join('gtFine', split),
        imageSuffix: '_leftImg8bit.png',
        labelFor: (rel) => rel.slice(0, -'_leftImg8bit.png'.length) + '_gtFine' + TRAIN_IDS,
        isRawLabel: (name) => name.endsWith('_gtFine_labelIds.png'),
      };
  }
}

/** Relative paths of files under dir (recursive) accepted by `keep`, sorted, with '/' separators. */
export function listFiles(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && !ent.name.startsWith('.') && keep(ent.name)) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Throws DataLayoutError unless `path` is an existing directory. `nested` is where the folder would
 * be if the user passed the parent of the dataset root (e.g. data/ instead of data/gta/).
 */
export function requireDir(path: string, what: string, nested?: { path: string; root: string }): void {
  if (existsSync(path) && statSync(path).isDirectory()) return;
  const hint = nested && existsSync(nested.path) ? `Found ${nested.path} — pass ${nested.root} as the dataset folder.` : undefined;
  throw new DataLayoutError(path, what, hint);
}

const DATASET_FOLDER: Record<DatasetKind, string> = { gta: 'gta', synthia: 'synthia', cityscapes: 'cityscapes' };

/** Checks the root, image and label folders of a dataset, naming the first one that is missing. */
export function checkLayout(kind: DatasetKind, root: string, split: Split = 'train', needLabels = true): Layout {
  const layout = layoutOf(kind, split);
  requireDir(root, `${layout.title} dataset folder not found`);
  const imageDir = join(root, layout.imageDir);
  const nestedRoot = join(root, DATASET_FOLDER[kind]);
  requireDir(imageDir, `${layout.title} images folder not found`, { path: join(nestedRoot, layout.imageDir), root: nestedRoot });
  if (needLabels) requireDir(join(root, layout.labelDir), `${layout.title} labels folder not found`);
  return layout;
}

/**
 * Lists a prepared dataset. With `requireLabels`, every image needs its *_labelTrainIds.png; images
 * without one are left out (and listed in missingLabels); none at all → DataNotPreparedError.
 */
export function openDataset(kind: DatasetKind, root: string, opts: { split?: Split; requireLabels?: boolean } = {}): DatasetIndex {
  const split = opts.split ?? 'train';
  const requireLabels = opts.requireLabels ?? true;
  const layout = checkLayout(kind, root, split, requireLabels);
  const imageDir = join(root, layout.imageDir);
  const rels = listFiles(imageDir, (n) => n.endsWith(layout.imageSuffix) && !n.endsWith(TRAIN_IDS));
  if (rels.length === 0) {
    throw new DataLayoutError(join(imageDir, kind === 'cityscapes' ? `<city>/<name>${layout.imageSuffix}` : `<name>${layout.imageSuffix}`), `no ${layout.title} images found`);
  }
  const samples: SampleFiles[] = [];
  const missingLabels: string[] = [];
  for (const rel of rels) {
    const image = join(imageDir, rel);
    if (!requireLabels) {
      samples.push({ image, label: null });
      continue;
    }
    const label = join(root, layout.labelDir, layout.labelFor(rel));
    if (existsSync(label)) samples.push({ image, label });
    else missingLabels.push(label);
  }
  if (requireLabels && samples.length === 0) {
    throw new DataNotPreparedError(missingLabels[0], `pipa prepare-data ${kind} ${root}`);
  }
  return { kind, root, split: kind === 'cityscapes' ? split : null, samples, missingLabels };
}
