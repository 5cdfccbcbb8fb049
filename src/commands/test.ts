import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadConfig } from '../config/load.js';
import { selectBackend, type BackendName } from '../model/backend.js';
import { ParamRegistry, ParamStore } from '../model/params.js';
import { Segmentor } from '../model/segmentor.js';
import { segmentorConfigOf } from '../worker/model-options.js';
import { loadStudentWeights } from '../worker/load-weights.js';
import { valPipelineOf } from '../worker/data-options.js';
import { evaluateSamples } from '../worker/evaluate.js';
import { writeLabelIdPng, writeShowImages } from '../worker/prediction-images.js';
import { CLASS_NAMES, openValData, valSamples } from '../data/index.js';
import { formatIouTable } from '../common/iou-table.js';
import { createLogger } from '../common/logger.js';
import { Progress } from '../common/progress.js';
import { withBackend, withConfig } from './shared-options.js';

interface Args {
  config: string;
  set: string[];
  checkpoint: string;
  backend: BackendName;
  out?: string;
  showDir?: string;
  formatOnly: boolean;
  limit?: number;
  tty: boolean;
}

export const testCommand: CommandModule<object, Args> = {
  command: 'test <checkpoint>',
  describe: 'evaluate a checkpoint on the validation split: HRDA slide inference, per-class IoU, mIoU (19 / Synthia 16 / 13)',
  builder: (y) =>
    withBackend(withConfig(y))
      .positional('checkpoint', { type: 'string', demandOption: true, describe: 'pipa run checkpoint, released PiPa/HRDA .pth, or mmseg segmentor checkpoint' })
      .option('out', { type: 'string', describe: 'write metrics.json here' })
      .option('show-dir', { type: 'string', describe: 'write colour predictions and image | prediction | ground-truth panels' })
      .option('format-only', { type: 'boolean', default: false, describe: 'only write Cityscapes labelId PNGs (to --out) for the benchmark server' })
      .option('limit', { type: 'number', describe: 'evaluate only the first N images' }) as any,
  handler: async (a) => {
    const log = createLogger({ pretty: a.tty });
    const { config } = loadConfig(a.config, a.set);
    const backend = await selectBackend(a.backend);
    log.info({ backend: backend.active, provider: backend.provider, skipped: backend.skipped }, 'backend');
    const registry = new ParamRegistry();
    const seg = new Segmentor(registry, segmentorConfigOf(config));
    const store = new ParamStore(registry.specs, config.seed, false);
    const r = loadStudentWeights(store, a.checkpoint);
    log.info({ kind: r.kind, loaded: r.loaded.length, missing: r.missing.length, unexpected: r.unexpected.length }, 'weights');
    const val = openValData(config.data.val.root, { split: config.data.val.split as 'train' | 'val', pipeline: valPipelineOf(config) });
    const n = Math.min(val.spec.samples.length, a.limit ?? config.data.val.limit ?? Infinity);
    const indices = Array.from({ length: n }, (_, i) => i);
    if (a.formatOnly && !a.out) throw Object.assign(new Error('--format-only needs --out DIR for the labelId PNGs'), { name: 'ConfigError' });
    const bar = new Progress({ label: 'eval', total: n, unit: 'img', tty: a.tty, log });
    const cm = await evaluateSamples(seg, store, valSamples(val.spec, indices), {
      numClasses: config.model.numClasses,
      onProgress: (d) => bar.update(d),
      onPrediction: async (s, pred) => {
        if (a.showDir) await writeShowImages(a.showDir, s, pred, config.data.mean, config.data.std);
        if (a.formatOnly) await writeLabelIdPng(a.out!, s, pred);
      },
    });
    bar.finish();
    const m = cm.metrics();
    process.stdout.write(`${formatIouTable(m, CLASS_NAMES)}\n(${n} images, checkpoint ${a.checkpoint})\n`);
    if (a.out && !a.formatOnly) {
      mkdirSync(a.out, { recursive: true });
      writeFileSync(join(a.out, 'metrics.json'), JSON.stringify({ images: n, ...m, confusion: cm.toJSON() }, null, 2));
    }
    store.dispose();
  },
};
