// Inline SVG line charts for report.html: no script, no fonts, no network. Axes get "nice"
// ticks (1/2/5 × 10^k); a log y-axis is used automatically when positive values span more
// than two decades (loss terms of very different sizes share one chart).
import { downsample, type Point } from './run-records.js';

export interface ChartSeries {
  name: string;
  points: readonly Point[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** 'auto' (default): log when every y > 0 and max/min > 100. */
  logY?: boolean | 'auto';
  /** Points per series after downsampling (default 400). */
  maxPoints?: number;
  /** Draw dots at the points (sparse series such as evaluations). */
  markers?: boolean;
}

/** Tableau-10: distinguishable, print-safe. */
export const SERIES_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Ticks at 1/2/5 × 10^k covering [lo, hi] with about `count` steps. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) as number;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e4 && a < 1e6 && Number.isInteger(v / 1000)) return `${v / 1000}k`;
  if (a >= 1e6 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

export function lineChart(series: readonly ChartSeries[], o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 300;
  const legendRows = Math.ceil(series.length / 4);
  const m = { l: 62, r: 16, t: 28, b: 44 + 16 * legendRows };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const data = series.map((s) => ({ name: s.name, pts: downsample(s.points, o.maxPoints ?? 400) })).filter((s) => s.pts.length > 0);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(o.title)}">` +
    `<text x="${W / 2}" y="18" class="title" text-anchor="middle">${escapeXml(o.title)}</text>`;
  if (data.length === 0) {
    return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="empty">no data recorded</text></svg>`;
  }
  const xs = data.flatMap((s) => s.pts.map((p) => p[0]));
  const ys = data.flatMap((s) => s.pts.map((p) => p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const log = o.logY === true || ((o.logY ?? 'auto') === 'auto' && y0 > 0 && y1 / y0 > 100);
  if (log) [y0, y1] = [10 ** Math.floor(Math.log10(y0)), 10 ** Math.ceil(Math.log10(y1))];
  else if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.5, y1 + (Math.abs(y1) || 1) * 0.5];
  else if (y0 > 0 && y0 < 0.25 * y1) y0 = 0; // anchor positive curves at zero unless that squashes them
  if (!log) y1 += 0.05 * (y1 - y0); // headroom so the top curve does not sit on the frame
  const tf = (v: number) => (log ? Math.log10(v) : v);
  const sx = (x: number) => m.l + (x1 === x0 ? pw / 2 : ((x - x0) / (x1 - x0)) * pw);
  const sy = (y: number) => m.t + ph - ((tf(y) - tf(y0)) / (tf(y1) - tf(y0))) * ph;
  const yTicks = log
    ? Array.from({ length: Math.round(Math.log10(y1 / y0)) + 1 }, (_, i) => y0 * 10 ** i)
    : niceTicks(y0, y1, 5).filter((t) => t >= y0 && t <= y1);
  const xTicks = niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1);
  const parts: string[] = [head];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="plot"/>`);
  for (const t of yTicks) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${fmt(sy(t))}" y2="${fmt(sy(t))}" class="grid"/>`,
      `<text x="${m.l - 6}" y="${fmt(sy(t) + 4)}" text-anchor="end" class="tick">${formatTick(t)}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${fmt(sx(t))}" x2="${fmt(sx(t))}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/>`,
      `<text x="${fmt(sx(t))}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${formatTick(t)}</text>`);
  }
  parts.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 30}" text-anchor="middle" class="label">${escapeXml(o.xLabel)}</text>`,
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeXml(o.yLabel)}${log ? ' (log)' : ''}</text>`);
  data.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    const d = s.pts.map((p, j) => `${j ? 'L' : 'M'}${fmt(sx(p[0]))} ${fmt(sy(log ? Math.max(p[1], y0) : p[1]))}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6" class="series"><title>${escapeXml(s.name)}</title></path>`);
    if (o.markers || s.pts.length === 1) {
      for (const p of s.pts) parts.push(`<circle cx="${fmt(sx(p[0]))}" cy="${fmt(sy(p[1]))}" r="3" fill="${color}"/>`);
    }
    const lx = m.l + (i % 4) * (pw / 4);
    const ly = m.t + ph + 52 + Math.floor(i / 4) * 16;
    parts.push(`<rect x="${fmt(lx)}" y="${ly - 9}" width="12" height="4" fill="${color}"/>`,
      `<text x="${fmt(lx + 16)}" y="${ly - 4}" class="legend">${escapeXml(s.name.length > 26 ? `${s.name.slice(0, 25)}…` : s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
