// Rare Class Sampling (SPEC §4.4): the statistics files written by prepare-data
// (sample_class_stats.json, sample_class_stats_dict.json, samples_with_class.json, in the layout
// of the original tools/convert_datasets/*.py) and the sampling table built from them.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { SampleFiles } from './datasets.js';
import { DataNotPreparedError } from './errors.js';
import { writeFileAtomic } from './image-io.js';
import { pyJsonDump, type PyJson } from './json-dump.js';
import { NUM_CLASSES } from './labels.js';

export interface RcsConfig {
  /** Softmax temperature T over (1 − f_c). */
  temperature: number;
  /** A file qualifies for class c if it has more than this many pixels of c (original resolution). */
  minPixels: number;
  /** Crops are re-drawn until they hold more than minPixels × minCropRatio pixels of c. */
  minCropRatio: number;
}

export const RCS_DEFAULTS: RcsConfig = { temperature: 0.01, minPixels: 3000, minCropRatio: 2.0 };

export const RCS_FILES = {
  stats: 'sample_class_stats.json',
  statsDict: 'sample_class_stats_dict.json',
  withClass: 'samples_with_class.json',
} as const;

/** Per-file pixel counts: [trainId, count] for each class present, ascending trainId. */
export interface ClassStatsEntry {
  file: string;
  counts: Array<[number, number]>;
}

/** Pixel count per trainId 0..18 (255 and other values not counted), only classes present. */
export function classCounts(trainIds: Uint8Array): Array<[number, number]> {
  const hist = new Float64Array(256);
  for (let i = 0; i < trainIds.length; i++) hist[trainIds[i]]++;
  const out: Array<[number, number]> = [];
  for (let c = 0; c < NUM_CLASSES; c++) if (hist[c] > 0) out.push([c, hist[c]]);
  return out;
}

/** The three JSON texts, laid out as the original's save_class_stats writes them. */
export function rcsFileTexts(entries: readonly ClassStatsEntry[]): Record<keyof typeof RCS_FILES, string> {
  const stats: PyJson = entries.map((e) => new Map<string, PyJson>([...e.counts.map(([c, n]): [string, PyJson] => [String(c), n]), ['file', e.file]]));
  const dict = new Map<string, PyJson>(entries.map((e) => [e.file, new Map<string, PyJson>(e.counts.map(([c, n]) => [String(c), n]))]));
  const withClass = new Map<string, PyJson[]>();
  for (const e of entries) {
    for (const [c, n] of e.counts) {
      const key = String(c);
      if (!withClass.has(key)) withClass.set(key, []);
      withClass.get(key)!.push([e.file, n]);
    }
  }
  return { stats: pyJsonDump(stats), statsDict: pyJsonDump(dict), withClass: pyJsonDump(withClass as Map<string, PyJson>) };
}

export async function writeRcsFiles(dir: string, entries: readonly ClassStatsEntry[]): Promise<string[]> {
  const texts = rcsFileTexts(entries);
  const written: string[] = [];
  for (const key of Object.keys(RCS_FILES) as Array<keyof typeof RCS_FILES>) {
    const path = join(dir, RCS_FILES[key]);
    await writeFileAtomic(path, texts[key]);
    written.push(path);
  }
  return written;
}

/**
 * Class order and probabilities as the original get_rcs_class_probs: totals per class over all
 * files, classes sorted by total ascending (ties keep first-seen order), f = n / Σn,
 * P = softmax((1 − f) / T).
 */
export function rcsClassProbabilities(entries: readonly ClassStatsEntry[], temperature: number): { classes: number[]; probs: number[]; freq: number[] } {
  const totals = new Map<number, number>();
  for (const e of entries) for (const [c, n] of e.counts) totals.set(c, (totals.get(c) ?? 0) + n);
  const sorted = [...totals].sort((a, b) => a[1] - b[1]); // Array.prototype.sort is stable
  const sum = sorted.reduce((s, [, n]) => s + n, 0);
  const freq = sorted.map(([, n]) => n / sum);
  const logits = freq.map((f) => (1 - f) / temperature);
  const max = Math.max(...logits);
  const ex = logits.map((l) => Math.exp(l - max));
  const z = ex.reduce((s, x) => s + x, 0);
  return { classes: sorted.map(([c]) => c), probs: ex.map((x) => x / z), freq };
}

/** The table RCS draws from: classes with probabilities, and per class the qualifying source indices. */
export interface RcsTable {
  classes: number[];
  probs: number[];
  /** samplesByClass[k] = indices (into the source listing) of files with > minPixels of classes[k]. */
  samplesByClass: number[][];
  /** Classes dropped because no file has more than minPixels of them (the original asserts instead). */
  excludedClasses: number[];
  config: RcsConfig;
}

function readJson(path: string, command: string): unknown {
  if (!existsSync(path)) throw new DataNotPreparedError(path, command);
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function parseClassStats(json: unknown): ClassStatsEntry[] {
  if (!Array.isArray(json)) throw new Error('sample_class_stats.json: expected a list');
  return json.map((o: Record<string, unknown>) => ({
    file: String(o.file),
    counts: Object.entries(o).filter(([k]) => k !== 'file').map(([k, v]): [number, number] => [Number(k), Number(v)]),
  }));
}

/**
 * Builds the RCS table for a source dataset from the statistics files in its root. Files are
 * matched by base name, as the original does. Classes without a qualifying file are excluded and
 * the remaining probabilities renormalised.
 */
export function loadRcsTable(root: string, kind: string, samples: readonly SampleFiles[], cfg: RcsConfig = RCS_DEFAULTS): RcsTable {
  const command = `pipa prepare-data ${kind} ${root}`;
  const entries = parseClassStats(readJson(join(root, RCS_FILES.stats), command));
  const withClass = readJson(join(root, RCS_FILES.withClass), command) as Record<string, Array<[string, number]>>;
  const { classes, probs } = rcsClassProbabilities(entries, cfg.temperature);
  const byName = new Map<string, number>();
  samples.forEach((s, i) => s.label && byName.set(basename(s.label), i));
  const kept: number[] = [], keptProbs: number[] = [], samplesByClass: number[][] = [], excluded: number[] = [];
  classes.forEach((c, k) => {
    const idx: number[] = [];
    for (const [file, n] of withClass[String(c)] ?? []) {
      const i = byName.get(basename(file));
      if (n > cfg.minPixels && i !== undefined) idx.push(i);
    }
    if (idx.length === 0) excluded.push(c);
    else {
      kept.push(c);
      keptProbs.push(probs[k]);
      samplesByClass.push(idx);
    }
  });
  if (kept.length === 0) throw new DataNotPreparedError(join(root, RCS_FILES.withClass) + ` (no file has more than ${cfg.minPixels} pixels of any class)`, command);
  const z = keptProbs.reduce((s, p) => s + p, 0);
  return { classes: kept, probs: keptProbs.map((p) => p / z), samplesByClass, excludedClasses: excluded, config: cfg };
}
