// MiT encoder vs the original PyTorch forward, for every golden set: eval mode on the
// full-resolution input (fwd.backbone.*) and on the 0.5× LR input (fwd.lr_backbone.*),
// with weights from the .safetensors file and, once its reader exists, the .pth file.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EVAL_MODE } from '../../src/model/layers/forward-mode.js';
import { mitConfigFromMmseg } from '../../src/model/mit/mit-config.js';
import { MixVisionTransformer } from '../../src/model/mit/mix-vision-transformer.js';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { loadStateDictIntoStore } from '../../src/model/weights/load-into-store.js';
import { readSafetensorsFile } from '../../src/model/weights/safetensors.js';
import type { StateDict } from '../../src/model/weights/tensor-record.js';
import { useTestBackend } from '../helpers/backend.js';
import { allGoldens, assertClose, withLeakCheck, type Golden } from '../helpers/golden.js';

const here = dirname(fileURLToPath(import.meta.url));
const PTH_READER = resolve(here, '../../src/model/weights/pth.ts');
const ATOL = 1e-4;

type Reader = (path: string) => StateDict | Promise<StateDict>;

/** The weight files to try: safetensors always, .pth when the reader module is in the tree. */
async function weightSources(g: Golden): Promise<Array<{ label: string; read: () => Promise<StateDict> }>> {
  const sources = [{ label: 'safetensors', read: async () => readSafetensorsFile(g.weight('segmentor_safetensors')) }];
  if (existsSync(PTH_READER)) {
    const mod = (await import(pathToFileURL(PTH_READER).href)) as { readPthFile?: Reader };
    if (typeof mod.readPthFile === 'function') {
      const readPth = mod.readPthFile;
      sources.push({ label: 'pth', read: async () => readPth(g.weight('segmentor_pth')) });
    }
  }
  return sources;
}

/** Only the backbone keys of a segmentor state dict (the head is not part of this model). */
function backboneOnly(sd: StateDict): StateDict {
  return new Map([...sd].filter(([k]) => k.startsWith('backbone.')));
}

function compareStages(label: string, model: MixVisionTransformer, store: ParamStore, g: Golden, input: string, expected: string): void {
  tf.tidy(() => {
    const x = g.nhwc(input);
    const stages = model.forward(store, x, EVAL_MODE);
    stages.forEach((s, i) => {
      const ref = g.nhwc(`${expected}.stage${i + 1}`);
      assertClose(`${label} ${expected}.stage${i + 1} [${ref.shape}]`, s, ref, ATOL);
    });
  });
}

test('MiT encoder matches the PyTorch backbone stages on every golden set', async () => {
  const backend = await useTestBackend();
  for (const g of allGoldens()) {
    const cfg = mitConfigFromMmseg(g.manifest.config.model.backbone);
    for (const source of await weightSources(g)) {
      await withLeakCheck(async () => {
        const reg = new ParamRegistry();
        const model = new MixVisionTransformer(reg.scope('backbone'), cfg);
        const store = new ParamStore(reg.specs);
        try {
          const report = loadStateDictIntoStore(store, backboneOnly(await source.read()), { strict: true });
          if (report.unexpected.length) throw new Error(`unexpected backbone keys: ${report.unexpected.join(', ')}`);
          const label = `[${backend}] ${g.name} ${source.label}`;
          console.log(`${label}: ${report.loaded.length} backbone tensors loaded`);
          compareStages(label, model, store, g, 'fwd.input', 'fwd.backbone');
          compareStages(label, model, store, g, 'fwd.lr_input', 'fwd.lr_backbone');
        } finally {
          store.dispose();
        }
      });
    }
  }
});
