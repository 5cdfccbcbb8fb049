// `pipa prepare-data gta|cityscapes|synthia DIR`: label conversion to *_labelTrainIds.png and the RCS
// statistics files, as the original tools/convert_datasets/*.py (SPEC §4.4, §5.3). Resumable: an
// existing output is not converted again (its statistics are read back). A missing/corrupt file is
// reported by path and skipped; the summary lists every skipped file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkLayout, listFiles, type DatasetKind } from '../datasets.js';
import { DataLayoutError } from '../errors.js';
import { writeFileAtomic } from '../image-io.js';
import { writeRcsFiles, type ClassStatsEntry } from '../rcs.js';
import { WorkerPool } from '../worker-pool.js';
import type { ConvertJob, ConvertResult, ImageCheck } from './convert.js';

export interface PrepareOptions {
  /** Worker threads (the original's --nproc). 1 = in this thread. */
  nproc?: number;
  /** How the paired image is checked: full decode (default), header only, or existence only. */
  imageCheck?: ImageCheck;
  /** Skip files whose output exists (default true). */
  resume?: boolean;
  onProgress?: (p: PrepareProgress) => void;
}

export interface PrepareProgress {
  done: number;
  total: number;
  converted: number;
  resumed: number;
  failed: number;
  /** The label file just finished. */
  path: string;
}

export interface PrepareSummary {
  kind: DatasetKind;
  root: string;
  total: number;
  converted: number;
  resumed: number;
  failed: Array<{ path: string; reason: string }>;
  /** Files written besides the labels (RCS statistics, Cityscapes split lists). */
  written: string[];
  seconds: number;
}

interface PlannedJob extends ConvertJob {
  /** Label path as written into the statistics files ("file"). */
  statsName: string;
}

const TRAIN_IDS = '_labelTrainIds.png';

function planJobs(kind: DatasetKind, root: string, imageCheck: ImageCheck, resume: boolean): PlannedJob[] {
  if (kind === 'cityscapes') {
    checkLayout('cityscapes', root, 'train', true);
    const gt = join(root, 'gtFine');
    const rels = listFiles(gt, (n) => n.endsWith('_gtFine_labelIds.png'));
    if (rels.length === 0) {
      const polygons = listFiles(gt, (n) => n.endsWith('_gtFine_polygons.json')).length;
      throw new DataLayoutError(
        join(gt, '<split>/<city>/<name>_gtFine_labelIds.png'), 'no Cityscapes label-id images found',
        polygons > 0 ? `Found ${polygons} *_gtFine_polygons.json files: pipa converts the *_gtFine_labelIds.png images that gtFine_trainvaltest.zip also contains.` : undefined,
      );
    }
    return rels.map((rel) => {
      const stem = rel.slice(0, -'_gtFine_labelIds.png'.length);
      const [split] = rel.split('/');
      const out = join(gt, `${stem}_gtFine${TRAIN_IDS}`);
      return {
        kind, rawLabel: join(gt, rel), output: out, statsName: out, image: join(root, 'leftImg8bit', `${stem}_leftImg8bit.png`),
        imageCheck, resume, stats: split === 'train',
      };
    });
  }
  // GTA5 / SYNTHIA: every label file whose name ends in a digit + .png (the original's filter).
  const layout = checkLayout(kind, root, 'train', true);
  const rels = listFiles(join(root, layout.labelDir), layout.isRawLabel);
  if (rels.length === 0) throw new DataLayoutError(join(root, layout.labelDir, '<name>.png'), `no ${layout.title} label files found`);
  return rels.map((rel) => {
    const out = join(root, layout.labelDir, layout.labelFor(rel));
    return {
      kind, rawLabel: join(root, layout.labelDir, rel), output: out, statsName: out, image: join(root, layout.imageDir, rel),
      imageCheck, resume, stats: true,
    };
  });
}

/** Cityscapes split lists (<split>.txt: city/name per line), as the original cityscapes.py writes. */
async function writeSplitLists(root: string): Promise<string[]> {
  const written: string[] = [];
  for (const split of ['train', 'val', 'test']) {
    const dir = join(root, 'gtFine', split);
    if (!existsSync(dir)) continue;
    const names = listFiles(dir, (n) => n.endsWith('_gtFine_labelIds.png')).map((r) => r.slice(0, -'_gtFine_labelIds.png'.length));
    const path = join(root, `${split}.txt`);
    await writeFileAtomic(path, names.map((n) => n + '\n').join(''));
    written.push(path);
  }
  return written;
}

export async function prepareData(kind: DatasetKind, root: string, opts: PrepareOptions = {}): Promise<PrepareSummary> {
  const t0 = Date.now();
  const nproc = Math.max(1, Math.floor(opts.nproc ?? 1));
  const jobs = planJobs(kind, root, opts.imageCheck ?? 'decode', opts.resume ?? true);
  const pool = new WorkerPool(nproc > 1 ? nproc : 0, {});
  const results: ConvertResult[] = new Array(jobs.length);
  const progress = { done: 0, total: jobs.length, converted: 0, resumed: 0, failed: 0, path: '' };
  try {
    // Bounded concurrency: enough in flight to keep every worker (or the libuv pool) busy.
    const inflight = Math.max(4, nproc * 2);
    let next = 0;
    const runOne = async (): Promise<void> => {
      while (next < jobs.length) {
        const i = next++;
        const { statsName: _statsName, ...job } = jobs[i];
        const r = await pool.run<ConvertResult>({ type: 'convert', job });
        results[i] = r;
        progress.done++;
        if (!r.ok) progress.failed++;
        else if (r.resumed) progress.resumed++;
        else progress.converted++;
        progress.path = jobs[i].rawLabel;
        opts.onProgress?.({ ...progress });
      }
    };
    await Promise.all(Array.from({ length: Math.min(inflight, jobs.length) }, runOne));
  } finally {
    await pool.close();
  }
  const entries: ClassStatsEntry[] = [];
  const failed: PrepareSummary['failed'] = [];
  results.forEach((r, i) => {
    if (!r.ok) failed.push({ path: r.path, reason: r.reason });
    else if (r.counts) entries.push({ file: jobs[i].statsName, counts: r.counts });
  });
  const written = await writeRcsFiles(root, entries);
  if (kind === 'cityscapes') written.push(...(await writeSplitLists(root)));
  return {
    kind, root, total: jobs.length, converted: progress.converted, resumed: progress.resumed, failed, written,
    seconds: (Date.now() - t0) / 1000,
  };
}
