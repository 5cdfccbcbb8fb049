// Per-rank Chrome trace (Trace Event Format, JSON object form) of step phases, viewable
// in Perfetto or chrome://tracing. Events are buffered and appended in place: the file is
// `{"displayTimeUnit":"ms","traceEvents":[ … ]}` at every flush, so a run that is still
// going (or was killed between flushes) leaves a trace that opens. Timestamps are wall-clock
// microseconds, so traces of different ranks line up when merged (mergeTraceFiles).
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

/** One Trace Event Format record (the fields this writer uses). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'C' | 'M' | 'i';
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  cat?: string;
  s?: 'g' | 'p' | 't';
  args?: Record<string, unknown>;
}

export interface TraceWriterOptions {
  path: string;
  /** Becomes the trace `pid`, so merged traces show one row group per rank. */
  rank: number;
  /** Buffered events written per flush (default 512). */
  flushEvery?: number;
  /** Stop recording after this many events, leaving one marker (default 1,000,000 ≈ 120 MB). */
  maxEvents?: number;
  /** Microsecond clock (tests inject one). */
  nowUs?: () => number;
}

const HEAD = '{"displayTimeUnit":"ms","traceEvents":[\n';
const TAIL = '\n]}\n';
export const wallClockUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

/** Step phases laid out in this order when only their durations are known. */
const PHASE_ORDER = ['data', 'compute', 'comm', 'optim'] as const;

export class TraceWriter {
  readonly path: string;
  readonly rank: number;
  private readonly fd: number;
  private readonly flushEvery: number;
  private readonly maxEvents: number;
  private readonly nowUs: () => number;
  private pending: TraceEvent[] = [];
  private written = 0;
  private recorded = 0;
  private truncated = false;
  /** Byte offset of TAIL: the next events overwrite it and the tail is rewritten after them. */
  private tailAt: number;
  private closed = false;

  constructor(o: TraceWriterOptions) {
    this.path = o.path;
    this.rank = o.rank;
    this.flushEvery = o.flushEvery ?? 512;
    this.maxEvents = o.maxEvents ?? 1_000_000;
    this.nowUs = o.nowUs ?? wallClockUs;
    try {
      mkdirSync(dirname(o.path), { recursive: true });
      this.fd = openSync(o.path, 'w');
    } catch (e) {
      throw new TraceError(`cannot create trace file ${o.path}: ${(e as Error).message}`);
    }
    const head = Buffer.from(HEAD);
    writeSync(this.fd, head, 0, head.length, 0);
    this.tailAt = head.length;
    this.push({ name: 'process_name', ph: 'M', ts: 0, pid: o.rank, tid: 0, args: { name: `rank ${o.rank}` } });
    this.push({ name: 'process_sort_index', ph: 'M', ts: 0, pid: o.rank, tid: 0, args: { sort_index: o.rank } });
    this.push({ name: 'thread_name', ph: 'M', ts: 0, pid: o.rank, tid: 0, args: { name: 'step' } });
    this.flush();
  }

  now(): number {
    return this.nowUs();
  }

  /** A finished span: [startUs, startUs + durUs). */
  complete(name: string, startUs: number, durUs: number, args?: Record<string, unknown>, cat = 'step'): void {
    this.push({ name, cat, ph: 'X', ts: startUs, dur: Math.max(0, durUs), pid: this.rank, tid: 0, args });
  }

  /** Starts a span now; call the returned function to end it. */
  begin(name: string, args?: Record<string, unknown>): () => void {
    const t0 = this.nowUs();
    return () => this.complete(name, t0, this.nowUs() - t0, args);
  }

  async span<T>(name: string, fn: () => Promise<T> | T, args?: Record<string, unknown>): Promise<T> {
    const end = this.begin(name, args);
    try {
      return await fn();
    } finally {
      end();
    }
  }

  /**
   * One training step from its metrics.jsonl timings: an enclosing `step N` span ending at
   * `endUs` (default now) and the phases back to back inside it. Use begin/span instead
   * where the phases were timed live (e.g. overlapped comm).
   */
  stepPhases(step: number, ms: Readonly<Partial<Record<(typeof PHASE_ORDER)[number] | 'total', number>>>, endUs = this.nowUs()): void {
    const phasesUs = PHASE_ORDER.map((p) => (ms[p] ?? 0) * 1000);
    const totalUs = Math.max((ms.total ?? 0) * 1000, phasesUs.reduce((a, b) => a + b, 0));
    let t = endUs - totalUs;
    this.complete(`step ${step}`, t, totalUs, { step });
    PHASE_ORDER.forEach((p, i) => {
      if (ms[p] === undefined) return;
      this.complete(p, t, phasesUs[i], { step });
      t += phasesUs[i];
    });
  }

  /** A counter track (e.g. imgs/s, loss) at `atUs` (default now). */
  counter(name: string, values: Record<string, number>, atUs = this.nowUs()): void {
    this.push({ name, ph: 'C', ts: atUs, pid: this.rank, tid: 0, args: values });
  }

  private push(e: TraceEvent): void {
    if (this.closed) throw new TraceError(`trace ${this.path} is closed; no more events can be recorded`);
    if (this.truncated) return;
    if (this.recorded >= this.maxEvents) {
      this.truncated = true;
      this.pending.push({ name: `trace truncated after ${this.maxEvents} events`, ph: 'i', s: 'p', ts: this.nowUs(), pid: this.rank, tid: 0 });
      return;
    }
    this.recorded++;
    this.pending.push(e);
    if (this.pending.length >= this.flushEvery) this.flush();
  }

  /** Appends buffered events; the file is complete JSON afterwards. */
  flush(): void {
    if (this.closed || this.pending.length === 0) return;
    const body = this.pending.map((e) => JSON.stringify(e)).join(',\n');
    const chunk = Buffer.from((this.written > 0 ? ',\n' : '') + body + TAIL);
    writeSync(this.fd, chunk, 0, chunk.length, this.tailAt);
    this.tailAt += chunk.length - TAIL.length;
    this.written += this.pending.length;
    this.pending = [];
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Reads a trace file written by TraceWriter (or any JSON-object / JSON-array trace). */
export function readTraceFile(path: string): TraceEvent[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TraceError(`trace ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const events = Array.isArray(doc) ? doc : (doc as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(events)) throw new TraceError(`trace ${path} has no traceEvents array`);
  return events as TraceEvent[];
}

/** One trace with every rank's events (each rank keeps its own pid row group). */
export function mergeTraceFiles(paths: readonly string[], outPath: string): number {
  const events = paths.flatMap((p) => readTraceFile(p));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify({ displayTimeUnit: 'ms', traceEvents: events }));
  return events.length;
}
