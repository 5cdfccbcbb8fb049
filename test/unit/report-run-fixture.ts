// A synthetic run directory in the issue-5 layout (config.yaml, metrics.jsonl with global and
// per-rank step records and eval records, samples/), for the report tests. Values come from
// simple closed-form curves so the tests can recompute what the page must show.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLASS_NAMES } from '../../src/data/labels.js';
import { writeSample } from '../../src/report/samples.js';

export interface FixtureRun {
  dir: string;
  steps: number;
  ranks: number;
  evals: Array<{ step: number; miou: number; iou: (number | null)[] }>;
  sampleNames: string[];
  badLines: number;
}

export const lossAt = (s: number) => ({
  'decode.loss_seg': 1.8 * Math.exp(-s / 120) + 0.2 + 0.05 * Math.sin(s),
  'mix.decode.loss_seg': 0.9 * Math.exp(-s / 200) + 0.1,
  'pixel_contrast': 0.05 + 0.01 * Math.cos(s / 7),
  'imnet_feat_dist': 0.004 + 0.002 * Math.exp(-s / 50),
  'decode.acc_seg': 60 + 30 * (1 - Math.exp(-s / 100)),
});

/** IoU fractions of eval e for class c; class 16 (train) never appears (null, as NaN is written). */
export const iouAt = (e: number, c: number): number | null => (c === 16 ? null : Math.min(0.95, 0.2 + 0.03 * c + 0.1 * e));

export function makeFixtureRun(dir: string, o: { steps?: number; ranks?: number; samples?: number } = {}): FixtureRun {
  const steps = o.steps ?? 300;
  const ranks = o.ranks ?? 2;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), 'name: fixture_gta2cs\nseed: 3\n');
  const lines: string[] = [];
  const evals: FixtureRun['evals'] = [];
  for (let s = 0; s < steps; s++) {
    const lr = s < 50 ? 6e-5 * (s + 1) / 50 : 6e-5 * (1 - s / steps);
    const ms = { data: 20, compute: 900 + 5 * (s % 7), comm: 150, optim: 30, total: 1100 + 5 * (s % 7) };
    lines.push(JSON.stringify({ type: 'step', step: s, world: s < steps / 2 ? ranks : ranks - 1, loss: lossAt(s), lr, ms, imgsPerSec: 3.6 }));
    for (let r = 0; r < ranks; r++) {
      const slow = r === ranks - 1 ? 1.5 : 1;
      lines.push(JSON.stringify({ type: 'step', step: s, rank: r, ms: { data: 20, compute: 900 * slow, comm: 150, optim: 30, total: 1100 * slow }, imgsPerSec: 1.8 / slow }));
    }
    if ((s + 1) % 100 === 0) {
      const e = evals.length;
      const iou = CLASS_NAMES.map((_, c) => iouAt(e, c));
      const present = iou.filter((v): v is number => v !== null);
      const miou = present.reduce((a, b) => a + b, 0) / present.length;
      evals.push({ step: s + 1, miou, iou });
      lines.push(JSON.stringify({ type: 'eval', step: s + 1, miou, iou, classes: CLASS_NAMES }));
    }
  }
  // A killed run leaves a half-written last line.
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n{"type":"step","step":${steps},"lo`);
  const sampleNames: string[] = [];
  const W = 96;
  const H = 48;
  for (let k = 0; k < (o.samples ?? 2); k++) {
    const image = new Uint8Array(W * H * 3);
    const gt = new Uint8Array(W * H);
    const pred = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        image.set([(x * 255) / W, (y * 255) / H, 80 + 40 * k], i * 3);
        gt[i] = y < H / 3 ? 10 : y < (2 * H) / 3 ? (x < W / 2 ? 13 : 11) : 0;
        pred[i] = y < H / 3 + 3 ? 10 : y < (2 * H) / 3 ? (x < W / 2 + 6 ? 13 : 11) : 0;
        if (x < 4) gt[i] = 255;
      }
    }
    const name = `it${String(steps).padStart(6, '0')}_sample${k}`;
    writeSample(join(dir, 'samples'), name, { width: W, height: H, image, pred, gt });
    sampleNames.push(name);
  }
  return { dir, steps, ranks, evals, sampleNames, badLines: 1 };
}
