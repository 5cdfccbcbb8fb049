// report.html for a run directory: reads config.yaml (for the name), metrics.jsonl and
// samples/*.png, and writes one self-contained page next to them (atomically, so a report
// regenerated during a run is never seen half-written).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { renderReportHtml, type ReportModel, type ReportSample } from './report-html.js';
import { readRunRecords, RunRecordsError } from './run-records.js';
import { listSamples, pngDataUri } from './samples.js';

export interface ReportOptions {
  /** Output path (default <runDir>/report.html). */
  out?: string;
  /** Sample rows embedded, the last ones in name order (default 6). */
  maxSamples?: number;
  /** Fixed timestamp (tests). */
  now?: Date;
}

export interface ReportResult {
  path: string;
  bytes: number;
  warnings: string[];
}

function runName(runDir: string, warnings: string[]): string {
  const p = join(runDir, 'config.yaml');
  if (!existsSync(p)) return basename(resolve(runDir));
  try {
    const doc = parseYaml(readFileSync(p, 'utf8')) as { name?: unknown } | null;
    if (doc && typeof doc.name === 'string') return doc.name;
  } catch (e) {
    warnings.push(`config.yaml is not valid YAML (${(e as Error).message.split('\n')[0]}); using the folder name`);
  }
  return basename(resolve(runDir));
}

export function collectReport(runDir: string, o: ReportOptions = {}): ReportModel {
  const warnings: string[] = [];
  const metricsPath = join(runDir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) throw new RunRecordsError(`${metricsPath} not found: not a run directory, or the run has not logged a step yet`);
  const series = readRunRecords(metricsPath);
  if (series.badLines.count) {
    warnings.push(`${series.badLines.count} line(s) of metrics.jsonl could not be read and were skipped ` +
      `(first: line ${series.badLines.firstLine}: ${series.badLines.firstError})`);
  }
  const rows = listSamples(join(runDir, 'samples')).slice(-(o.maxSamples ?? 6));
  const samples: ReportSample[] = rows.map((r) => ({
    name: r.name,
    parts: Object.fromEntries(Object.entries(r.files).map(([k, path]) => [k, pngDataUri(path)])),
  }));
  for (const s of samples) {
    for (const [k, uri] of Object.entries(s.parts)) if (uri === null) warnings.push(`samples/${s.name} ${k}: not a PNG file, left out`);
  }
  return {
    title: runName(runDir, warnings),
    runDir: resolve(runDir),
    generatedAt: (o.now ?? new Date()).toISOString(),
    series,
    samples,
    warnings,
  };
}

export function writeReport(runDir: string, o: ReportOptions = {}): ReportResult {
  const model = collectReport(runDir, o);
  const html = renderReportHtml(model);
  const path = o.out ?? join(runDir, 'report.html');
  writeFileSync(`${path}.tmp`, html);
  renameSync(`${path}.tmp`, path);
  return { path, bytes: Buffer.byteLength(html), warnings: model.warnings };
}
