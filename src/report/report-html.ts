// The report page: one self-contained HTML file (inline CSS and SVG, images as data: URIs).
// A Content-Security-Policy forbids every network load, so a report that renders cleanly in a
// browser provably needs nothing from outside. Its only script is a check that every image
// decoded; it is allowed by hash, not by 'unsafe-inline'.
import { createHash } from 'node:crypto';
import type { EvalPoint, Point, RunSeries } from './run-records.js';
import { escapeXml as esc, lineChart, type ChartSeries } from './svg-chart.js';
import type { SamplePart } from './samples.js';

export interface ReportSample {
  name: string;
  /** data: URIs of the parts present (null: file was not a valid PNG). */
  parts: Partial<Record<SamplePart | 'panel', string | null>>;
}

export interface ReportModel {
  title: string;
  runDir: string;
  generatedAt: string;
  series: RunSeries;
  samples: ReportSample[];
  warnings: string[];
}

/** Marks the page once every <img> has loaded: data-check="images=N decoded=M svgs=K". */
const CHECK_SCRIPT =
  "addEventListener('load',()=>{const i=[...document.images];" +
  "document.body.dataset.check='images='+i.length+' decoded='+i.filter(x=>x.complete&&x.naturalWidth>0).length+" +
  "' svgs='+document.querySelectorAll('svg.chart').length;});";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1360px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
.muted{color:#667085}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:8px}
svg.chart{width:100%;height:auto;display:block}
svg .title{font-size:13px;font-weight:600;fill:#1d2330}svg .tick{font-size:10px;fill:#667085}
svg .label{font-size:11px;fill:#344054}svg .legend{font-size:10.5px;fill:#344054}svg .empty{font-size:12px;fill:#98a2b3}
svg .plot{fill:#fff;stroke:#d0d5dd}svg .grid{stroke:#eef0f3}svg .axis{stroke:#98a2b3}
table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e1e4ea;padding:3px 10px;text-align:right}th{background:#f0f2f5}td.name,th.name{text-align:left}
td.bar{min-width:160px;text-align:left}td.bar span{display:inline-block;height:10px;background:#4e79a7;border-radius:2px;vertical-align:middle}
tr.slow td{background:#fff4e5}.kv td:first-child{text-align:left;color:#667085}
.samples figure{margin:0 0 14px;background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:8px}
.samples .row{display:grid;grid-template-columns:repeat(3,1fr);gap:6px}.samples img{width:100%;height:auto;image-rendering:pixelated;display:block}
.samples .cap{font-size:11px;color:#667085;text-align:center}.warn{background:#fff4e5;border:1px solid #f5c27a;padding:8px 12px;border-radius:6px}
`;

const n = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function chartsSection(s: RunSeries): string {
  // The loss dict also carries mmseg's pixel accuracies (`*.acc_seg`, percent): their own chart.
  const isAcc = (term: string) => /(^|\.)acc(_|$)/.test(term);
  const lossSeries: ChartSeries[] = [...s.loss].filter(([t]) => !isAcc(t)).map(([name, points]) => ({ name, points }));
  const accSeries: ChartSeries[] = [...s.loss].filter(([t]) => isAcc(t)).map(([name, points]) => ({ name, points }));
  const phaseSeries: ChartSeries[] = [...s.phaseMs].map(([name, points]) => ({ name, points }));
  const rankSeries: ChartSeries[] = [...s.rankImgsPerSec].sort((a, b) => a[0] - b[0]).map(([r, points]) => ({ name: `rank ${r}`, points }));
  const throughput = s.imgsPerSec.length ? [{ name: 'global', points: s.imgsPerSec }, ...rankSeries] : rankSeries;
  const miou: ChartSeries[] = [{ name: 'mIoU', points: s.evals.filter((e) => Number.isFinite(e.miou)).map((e): Point => [e.step, e.miou]) }];
  const charts = [
    lineChart(lossSeries, { title: 'Loss terms', xLabel: 'iteration', yLabel: 'loss' }),
    lineChart([{ name: 'lr', points: s.lr }], { title: 'Learning rate (base group)', xLabel: 'iteration', yLabel: 'lr', logY: false }),
    lineChart(miou, { title: 'mIoU on the target validation set', xLabel: 'iteration', yLabel: 'mIoU (%)', markers: true, logY: false }),
    lineChart(throughput, { title: 'Throughput', xLabel: 'iteration', yLabel: 'images / s', logY: false }),
    lineChart(phaseSeries, { title: 'Step time by phase', xLabel: 'iteration', yLabel: 'ms' }),
  ];
  if (accSeries.length) {
    charts.splice(1, 0, lineChart(accSeries, { title: 'Pixel accuracy on training batches', xLabel: 'iteration', yLabel: 'accuracy (%)', logY: false }));
  }
  return `<h2>Curves</h2><div class="grid">${charts.map((c) => `<div class="card">${c}</div>`).join('')}</div>`;
}

/** The evaluation with the highest mIoU (NaN never wins), or null. */
function bestEval(evals: readonly EvalPoint[]): EvalPoint | null {
  return evals.reduce<EvalPoint | null>((a, b) => (Number.isFinite(b.miou) && (a === null || b.miou > a.miou) ? b : a), null);
}

function iouTable(evals: readonly EvalPoint[]): string {
  if (evals.length === 0) return '<h2>Per-class IoU</h2><p class="muted">No evaluation recorded yet.</p>';
  const last = evals[evals.length - 1];
  const best = bestEval(evals) ?? last;
  const rows = last.classes.map((c, i) => {
    const v = last.iou[i];
    const width = v === null ? 0 : Math.max(0, Math.min(100, v)) * 1.6;
    return `<tr><td class="name">${esc(c)}</td><td>${n(v)}</td><td class="bar"><span style="width:${width.toFixed(0)}px"></span></td><td>${n(best.iou[i])}</td></tr>`;
  });
  return `<h2>Per-class IoU</h2><table><thead><tr><th class="name">class</th><th>IoU % (iter ${last.step})</th><th></th>` +
    `<th>IoU % at best (iter ${best.step})</th></tr></thead><tbody>${rows.join('')}` +
    `<tr><th class="name">mIoU</th><th>${n(last.miou)}</th><th></th><th>${n(best.miou)}</th></tr></tbody></table>`;
}

function rankTable(s: RunSeries): string {
  const ranks = [...s.rankPhaseTotals].sort((a, b) => a[0] - b[0]);
  if (ranks.length === 0) return '<h2>Per-rank throughput</h2><p class="muted">No per-rank step records.</p>';
  const meanTotal = (t: { n: number; ms: Record<string, number> }) => (t.ms.total ?? 0) / t.n;
  const slowest = ranks.reduce((a, b) => (meanTotal(b[1]) > meanTotal(a[1]) ? b : a))[0];
  const rows = ranks.map(([r, t]) => {
    const ips = s.rankImgsPerSec.get(r) ?? [];
    const meanIps = ips.length ? ips.reduce((a, p) => a + p[1], 0) / ips.length : null;
    const total = t.ms.total ?? 0;
    const pct = (p: string) => (total > 0 ? n((100 * (t.ms[p] ?? 0)) / total, 1) : '–');
    return `<tr${r === slowest && ranks.length > 1 ? ' class="slow"' : ''}><td class="name">rank ${r}${r === slowest && ranks.length > 1 ? ' (slowest)' : ''}</td>` +
      `<td>${t.n}</td><td>${n(meanIps)}</td><td>${n(meanTotal(t), 0)}</td><td>${pct('data')}</td><td>${pct('compute')}</td><td>${pct('comm')}</td><td>${pct('optim')}</td></tr>`;
  });
  return '<h2>Per-rank throughput</h2><table><thead><tr><th class="name">rank</th><th>steps</th><th>images/s</th><th>step ms</th>' +
    `<th>data %</th><th>compute %</th><th>comm %</th><th>optim %</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summary(m: ReportModel): string {
  const s = m.series;
  const best = bestEval(s.evals);
  const worlds = [...s.worlds].sort((a, b) => a[0] - b[0]).map(([w, c]) => `${w} (${c} steps)`).join(', ') || '–';
  const rows: Array<[string, string]> = [
    ['last iteration', s.lastStep === null ? '–' : String(s.lastStep)],
    ['world sizes', worlds],
    ['best mIoU', best ? `${n(best.miou)} % at iteration ${best.step}` : '–'],
    ['evaluations', String(s.evals.length)],
    ['skipped steps (non-finite gradient)', String(s.skippedSteps)],
    ['records', `${s.lines}${s.badLines.count ? ` (${s.badLines.count} unreadable)` : ''}`],
  ];
  return `<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

function samplesSection(samples: readonly ReportSample[]): string {
  if (samples.length === 0) return '<h2>Sample predictions</h2><p class="muted">No samples in samples/.</p>';
  const img = (uri: string | null | undefined, alt: string) =>
    uri ? `<img src="${uri}" alt="${esc(alt)}">` : `<div class="muted">${esc(alt)}: missing or not a PNG</div>`;
  const figs = samples.map((s) => {
    const body = s.parts.panel !== undefined && s.parts.image === undefined
      ? img(s.parts.panel, s.name)
      : `<div class="row">${img(s.parts.image, 'image')}${img(s.parts.pred, 'prediction')}${img(s.parts.gt, 'ground truth')}</div>` +
        '<div class="row cap"><div>image</div><div>prediction</div><div>ground truth</div></div>';
    return `<figure>${body}<figcaption class="cap">${esc(s.name)}</figcaption></figure>`;
  });
  return `<h2>Sample predictions</h2><div class="samples">${figs.join('')}</div>`;
}

export function renderReportHtml(m: ReportModel): string {
  const scriptHash = createHash('sha256').update(CHECK_SCRIPT).digest('base64');
  const csp = `default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'`;
  const warnings = m.warnings.length
    ? `<div class="warn">${m.warnings.map((w) => `<div>${esc(w)}</div>`).join('')}</div>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(m.title)} — pipa report</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(m.title)}</h1><div class="muted">run directory ${esc(m.runDir)} · generated ${esc(m.generatedAt)}</div>
${warnings}${summary(m)}${chartsSection(m.series)}${iouTable(m.series.evals)}${rankTable(m.series)}${samplesSection(m.samples)}
</main><script>${CHECK_SCRIPT}</script></body></html>
`;
}
