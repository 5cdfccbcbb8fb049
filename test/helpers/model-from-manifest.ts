// Builds the segmentor a golden fixture set describes (manifest.config.model) and loads its
// weights, so parity tests take every size from the fixture and none from the public set.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { mitConfigFromMmseg } from '../../src/model/mit/mit-config.js';
import { Segmentor, PIPA_PROJ_DIM } from '../../src/model/segmentor.js';
import type { SegmentorConfig } from '../../src/model/segmentor-config.js';
import { readSafetensorsFile } from '../../src/model/weights/safetensors.js';
import { loadStateDictIntoStore, type LoadReport } from '../../src/model/weights/load-into-store.js';
import type { StateDict } from '../../src/model/weights/tensor-record.js';
import type { Golden } from './golden.js';
import { readNpy } from './npy.js';

const pair = (v: unknown, what: string): [number, number] => {
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`manifest: ${what} must be a pair, got ${JSON.stringify(v)}`);
  return [Number(v[0]), Number(v[1])];
};

/** SegmentorConfig from manifest.config.model (mmseg config dict). */
export function segmentorConfigFromManifest(g: Golden): SegmentorConfig {
  const model = g.manifest.config.model;
  const dh = model.decode_head;
  const dec = dh.decoder_params;
  if (dec.fusion_cfg.type !== 'aspp' || !dec.fusion_cfg.sep || dec.fusion_cfg.pool) {
    throw new Error(`${g.name}: only the sep-ASPP fusion without pooling is implemented, got ${JSON.stringify(dec.fusion_cfg)}`);
  }
  const crop = pair(model.hr_crop_size, 'hr_crop_size');
  const overlapping = model.hr_slide_overlapping ?? true;
  return {
    backbone: mitConfigFromMmseg(model.backbone),
    numClasses: dh.num_classes,
    headChannels: dh.channels,
    decoderEmbedDims: dec.embed_dims,
    attentionEmbedDim: dh.attention_embed_dim,
    dropoutRatio: dh.dropout_ratio,
    asppDilations: dec.fusion_cfg.dilations,
    attentionClasswise: dh.attention_classwise ?? true,
    scales: pair(model.scales, 'scales'),
    hrCropSize: crop,
    cropCoordDivisible: model.crop_coord_divisible ?? 1,
    hrSlideStride: overlapping ? undefined : crop,
    testCrop: pair(model.test_cfg.crop_size, 'test_cfg.crop_size'),
    testStride: pair(model.test_cfg.stride, 'test_cfg.stride'),
    pipaHeads: true,
    projDim: PIPA_PROJ_DIM,
  };
}

export interface BuiltModel {
  cfg: SegmentorConfig;
  registry: ParamRegistry;
  segmentor: Segmentor;
  /** Declared store (initial values) — callers load weights into it. */
  store: ParamStore;
}

export function buildFromManifest(g: Golden): BuiltModel {
  const cfg = segmentorConfigFromManifest(g);
  const registry = new ParamRegistry();
  const segmentor = new Segmentor(registry, cfg);
  return { cfg, registry, segmentor, store: new ParamStore(registry.specs, 0, false) };
}

/** Built model with weights/segmentor.safetensors loaded strictly. */
export function loadFromManifest(g: Golden): BuiltModel & { report: LoadReport } {
  const built = buildFromManifest(g);
  const file = g.weight('segmentor_safetensors');
  const report = loadStateDictIntoStore(built.store, readSafetensorsFile(file), { strict: true, file });
  return { ...built, report };
}

const here = dirname(fileURLToPath(import.meta.url));
const PTH_MODULE = resolve(here, '../../src/model/weights/pth.ts');

/**
 * readPthFile from src/model/weights/pth.ts if that module exists (written by another
 * part of the project); null otherwise. Imported dynamically so this compiles either way.
 */
export async function pthReader(): Promise<((path: string) => StateDict | Promise<StateDict>) | null> {
  if (!existsSync(PTH_MODULE)) return null;
  const mod = (await import(pathToFileURL(join(dirname(PTH_MODULE), 'pth.ts')).href)) as Record<string, unknown>;
  const fn = mod.readPthFile;
  return typeof fn === 'function' ? (fn as (path: string) => StateDict | Promise<StateDict>) : null;
}

/**
 * Fixture tensor as stored (NCHW for 4-D). Works around golden.ts joining `tensors/` twice
 * (the manifest's `file` already includes it); int-like and bool arrays become int32.
 */
export function fixtureTensor(g: Golden, name: string): tf.Tensor {
  const entry = g.manifest.tensors[name];
  if (!entry) throw new Error(`${g.dir}: tensor '${name}' not in manifest`);
  const file = String(entry.file);
  const a = readNpy(file.startsWith('tensors/') ? join(g.dir, file) : join(g.dir, 'tensors', file));
  if (a.dtype === 'float64') return tf.tensor(Float32Array.from(a.data), a.shape, 'float32');
  if (a.dtype === 'uint8') return tf.tensor(Int32Array.from(a.data), a.shape, 'int32');
  return tf.tensor(a.data as Float32Array | Int32Array, a.shape, a.dtype);
}

/** A 4-D NCHW fixture tensor as NHWC. */
export function fixtureNhwc(g: Golden, name: string): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(fixtureTensor(g, name), [0, 2, 3, 1]) as tf.Tensor4D);
}
