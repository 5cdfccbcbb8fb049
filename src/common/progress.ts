// Progress of long work (training steps, data preparation, evaluation): a one-line bar
// redrawn in place on a TTY, periodic structured log lines otherwise (files, kubectl logs).
// The caller decides which (cli.ts knows whether stderr is a TTY); the clock is injectable.

/** What a progress line may show besides done/total/rate/ETA. */
export interface ProgressFields {
  imgsPerSec?: number;
  /** Share of the step spent in communication, 0–100. */
  commPct?: number;
  /** Rank with the longest last step, shown so stragglers are visible. */
  slowestRank?: number | null;
  loss?: number;
  [extra: string]: number | string | null | undefined;
}

/** The structured-log sink (pino's Logger satisfies it). */
export interface ProgressLog {
  info(obj: Record<string, unknown>, msg: string): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** Unit name for the rate, e.g. 'step', 'img'. */
  unit?: string;
  /** Already done when this progress starts (resume); not counted in the rate. */
  start?: number;
  tty: boolean;
  /** TTY sink (default process.stderr); `columns` bounds the line width. */
  stream?: { write(s: string): unknown; columns?: number };
  log?: ProgressLog;
  /** Non-TTY: at most one log line per interval (default 30 s). */
  logIntervalMs?: number;
  /** TTY: at most one redraw per interval (default 250 ms). */
  renderIntervalMs?: number;
  /** Seconds of history the rate is measured over (default 60). */
  rateWindowS?: number;
  nowMs?: () => number;
}

/** 3725 s → '1h02m', 65 → '1m05s', 9.4 → '9s'; null/Infinity → '?'. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h >= 24) return `${Math.floor(h / 24)}d${pad(h % 24)}h`;
  if (h > 0) return `${h}h${pad(m)}m`;
  if (m > 0) return `${m}m${pad(s % 60)}s`;
  return `${s}s`;
}

/** Three significant digits, no exponent for everyday magnitudes. */
function num(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toPrecision(3) : x.toPrecision(2);
}

export interface ProgressSnapshot {
  done: number;
  total: number;
  /** Units per second over the recent window, null until measurable. */
  rate: number | null;
  etaS: number | null;
  elapsedS: number;
}

export class Progress {
  private readonly o: Required<Pick<ProgressOptions, 'unit' | 'logIntervalMs' | 'renderIntervalMs' | 'rateWindowS'>> & ProgressOptions;
  private readonly nowMs: () => number;
  private readonly t0: number;
  private done: number;
  private fields: ProgressFields = {};
  /** (time ms, done) samples inside the rate window. */
  private history: Array<[number, number]> = [];
  private lastRender = -Infinity;
  private lastLog = -Infinity;
  private finished = false;

  constructor(o: ProgressOptions) {
    this.o = { unit: 'it', logIntervalMs: 30_000, renderIntervalMs: 250, rateWindowS: 60, ...o };
    this.nowMs = o.nowMs ?? (() => performance.now());
    this.t0 = this.nowMs();
    this.done = o.start ?? 0;
    this.history.push([this.t0, this.done]);
  }

  /** Moves to an absolute position (e.g. the step just completed). */
  update(done: number, fields?: ProgressFields): void {
    if (this.finished) return;
    const t = this.nowMs();
    this.done = Math.min(done, this.o.total);
    if (fields) this.fields = { ...this.fields, ...fields };
    this.history.push([t, this.done]);
    const horizon = t - this.o.rateWindowS * 1000;
    while (this.history.length > 2 && this.history[1][0] <= horizon) this.history.shift();
    this.emit(t, false);
  }

  tick(n = 1, fields?: ProgressFields): void {
    this.update(this.done + n, fields);
  }

  /** Final line (TTY: newline after the bar; log: one closing line). */
  finish(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields) this.fields = { ...this.fields, ...fields };
    this.emit(this.nowMs(), true);
    this.finished = true;
  }

  snapshot(): ProgressSnapshot {
    const [ta, da] = this.history[0];
    const [tb, db] = this.history[this.history.length - 1];
    const rate = tb > ta && db > da ? ((db - da) * 1000) / (tb - ta) : null;
    const left = this.o.total - this.done;
    return {
      done: this.done,
      total: this.o.total,
      rate,
      etaS: left <= 0 ? 0 : rate ? left / rate : null,
      elapsedS: (tb - this.t0) / 1000,
    };
  }

  /** The bar line as drawn on a TTY (without control characters). */
  line(width = 100): string {
    const s = this.snapshot();
    const pct = s.total > 0 ? (100 * s.done) / s.total : 100;
    const head = `${this.o.label} `;
    const tail =
      ` ${s.done}/${s.total} ${pct.toFixed(1)}% ` +
      `${s.rate === null ? '?' : num(s.rate)} ${this.o.unit}/s ETA ${formatDuration(s.etaS)}` +
      this.fieldText();
    const barWidth = Math.max(0, Math.min(30, width - head.length - tail.length - 2));
    const filled = Math.round((barWidth * pct) / 100);
    const bar = barWidth > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : '';
    return (head + bar + tail).slice(0, width);
  }

  private fieldText(): string {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(this.fields)) {
      if (v === undefined || v === null) continue;
      if (k === 'imgsPerSec') parts.push(`${num(v as number)} img/s`);
      else if (k === 'commPct') parts.push(`comm ${Math.round(v as number)}%`);
      else if (k === 'slowestRank') parts.push(`slowest r${v}`);
      else parts.push(`${k} ${typeof v === 'number' ? num(v) : v}`);
    }
    return parts.length ? ` | ${parts.join(' | ')}` : '';
  }

  private emit(t: number, final: boolean): void {
    if (this.o.tty) {
      if (!final && t - this.lastRender < this.o.renderIntervalMs) return;
      this.lastRender = t;
      const stream = this.o.stream ?? process.stderr;
      const width = (stream.columns ?? 100) - 1;
      stream.write(`\r\x1b[2K${this.line(width)}${final ? '\n' : ''}`);
      return;
    }
    if (!this.o.log) return;
    if (!final && t - this.lastLog < this.o.logIntervalMs) return;
    this.lastLog = t;
    const s = this.snapshot();
    const fields = Object.fromEntries(Object.entries(this.fields).filter(([, v]) => v !== undefined && v !== null));
    this.o.log.info(
      { progress: this.o.label, done: s.done, total: s.total, rate: s.rate, etaS: s.etaS === null ? null : Math.round(s.etaS), ...fields },
      final ? `${this.o.label} finished` : `${this.o.label} progress`,
    );
  }
}
