// Reading a run directory's metrics.jsonl into the series the report draws. Long runs give
// hundreds of thousands of lines (steps × ranks), so the file is scanned line by line from a
// Buffer and only numbers are kept. A malformed line (e.g. the half-written last line of a
// killed run) is counted and skipped, never fatal: a report of a broken run is still useful.
import { readFileSync } from 'node:fs';

export class RunRecordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRecordsError';
  }
}

export type Point = readonly [x: number, y: number];

export interface EvalPoint {
  step: number;
  /** mIoU in percent (NaN when the evaluation saw no labelled pixel). */
  miou: number;
  /** Per class IoU in percent, null where the class never occurred (NaN). */
  iou: (number | null)[];
  classes: string[];
}

export interface RunSeries {
  /** loss term → [step, value] of the global step records. */
  loss: Map<string, Point[]>;
  lr: Point[];
  /** Global throughput (images/s). */
  imgsPerSec: Point[];
  /** phase (data, compute, comm, optim, total) → [step, ms] of the global step records. */
  phaseMs: Map<string, Point[]>;
  /** rank → [step, images/s] of the per-rank step records. */
  rankImgsPerSec: Map<number, Point[]>;
  /** rank → summed ms per phase and record count (for means). */
  rankPhaseTotals: Map<number, { n: number; ms: Record<string, number> }>;
  evals: EvalPoint[];
  /** world size → number of global steps run at it. */
  worlds: Map<number, number>;
  /** Global steps skipped for a non-finite gradient (`"skipped": true`). */
  skippedSteps: number;
  lastStep: number | null;
  lines: number;
  badLines: { count: number; firstLine: number | null; firstError: string | null };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function push<K>(m: Map<K, Point[]>, key: K, p: Point): void {
  const a = m.get(key);
  if (a) a.push(p);
  else m.set(key, [p]);
}

/** Evaluations may report fractions (0..1, as ConfusionMatrix computes) or percent: shown as percent. */
function toPercent(miou: number, iou: (number | null)[]): { miou: number; iou: (number | null)[] } {
  const fractions = miou <= 1 && iou.every((v) => v === null || v <= 1);
  const k = fractions ? 100 : 1;
  return { miou: miou * k, iou: iou.map((v) => (v === null ? null : v * k)) };
}

function emptySeries(): RunSeries {
  return {
    loss: new Map(), lr: [], imgsPerSec: [], phaseMs: new Map(), rankImgsPerSec: new Map(),
    rankPhaseTotals: new Map(), evals: [], worlds: new Map(), skippedSteps: 0, lastStep: null, lines: 0,
    badLines: { count: 0, firstLine: null, firstError: null },
  };
}

function addRecord(s: RunSeries, r: Record<string, unknown>): string | null {
  if (!isNum(r.step)) return "no numeric 'step'";
  const step = r.step;
  if (r.type === 'eval') {
    if (!(isNum(r.miou) || r.miou === null) || !Array.isArray(r.iou)) return "eval record needs 'miou' (number or null) and an 'iou' array";
    const iou = r.iou.map((v) => (isNum(v) ? v : null));
    const classes = Array.isArray(r.classes) ? r.classes.map(String) : iou.map((_, i) => `class ${i}`);
    s.evals.push({ step, ...toPercent(r.miou ?? NaN, iou), classes });
    return null;
  }
  if (r.type !== 'step') return `unknown record type ${JSON.stringify(r.type)}`;
  const ms = (typeof r.ms === 'object' && r.ms !== null ? r.ms : {}) as Record<string, unknown>;
  if (isNum(r.rank)) {
    const rank = r.rank;
    if (isNum(r.imgsPerSec)) push(s.rankImgsPerSec, rank, [step, r.imgsPerSec]);
    const t = s.rankPhaseTotals.get(rank) ?? { n: 0, ms: {} };
    t.n++;
    for (const [p, v] of Object.entries(ms)) if (isNum(v)) t.ms[p] = (t.ms[p] ?? 0) + v;
    s.rankPhaseTotals.set(rank, t);
    return null;
  }
  const loss = (typeof r.loss === 'object' && r.loss !== null ? r.loss : {}) as Record<string, unknown>;
  for (const [term, v] of Object.entries(loss)) if (isNum(v)) push(s.loss, term, [step, v]);
  if (isNum(r.lr)) s.lr.push([step, r.lr]);
  if (isNum(r.imgsPerSec)) s.imgsPerSec.push([step, r.imgsPerSec]);
  for (const [p, v] of Object.entries(ms)) if (isNum(v)) push(s.phaseMs, p, [step, v]);
  if (isNum(r.world)) s.worlds.set(r.world, (s.worlds.get(r.world) ?? 0) + 1);
  if (r.skipped === true) s.skippedSteps++;
  s.lastStep = Math.max(s.lastStep ?? step, step);
  return null;
}

/** Parses metrics.jsonl content (Buffer, to keep very long files out of one giant string). */
export function parseRunRecords(buf: Buffer): RunSeries {
  const s = emptySeries();
  let start = 0;
  let lineNo = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    lineNo++;
    const text = buf.toString('utf8', start, end).trim();
    start = end + 1;
    if (!text) continue;
    s.lines++;
    let problem: string | null;
    try {
      const r = JSON.parse(text) as unknown;
      problem = typeof r === 'object' && r !== null && !Array.isArray(r) ? addRecord(s, r as Record<string, unknown>) : 'not a JSON object';
    } catch (e) {
      problem = `not JSON (${(e as Error).message})`;
    }
    if (problem) {
      s.badLines.count++;
      if (s.badLines.firstLine === null) Object.assign(s.badLines, { firstLine: lineNo, firstError: problem });
    }
  }
  s.evals.sort((a, b) => a.step - b.step);
  return s;
}

export function readRunRecords(path: string): RunSeries {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new RunRecordsError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (is this a run directory?)`);
  }
  return parseRunRecords(buf);
}

/**
 * At most `maxPoints` points: consecutive points are averaged in equal-count buckets
 * (x and y), which keeps a 60k-step curve's shape while bounding the SVG's size.
 */
export function downsample(points: readonly Point[], maxPoints: number): Point[] {
  if (points.length <= maxPoints) return [...points];
  const out: Point[] = [];
  const per = points.length / maxPoints;
  for (let b = 0; b < maxPoints; b++) {
    const lo = Math.floor(b * per);
    const hi = Math.floor((b + 1) * per);
    let sx = 0;
    let sy = 0;
    for (let i = lo; i < hi; i++) {
      sx += points[i][0];
      sy += points[i][1];
    }
    out.push([sx / (hi - lo), sy / (hi - lo)]);
  }
  return out;
}
