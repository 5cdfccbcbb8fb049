// The whole training state of a UdaTrainer as one .safetensors blob, and back: what rank 0
// commits to the coordinator, what checkpoints hold, what a starting worker loads.
//   student.<key>, teacher.<key>, extras.<key>   PyTorch names and layouts (so `pipa test`
//                                                and other tools read run checkpoints)
//   optimizer.m.<key>, optimizer.v.<key>         AdamW moments, flat float32 (TF.js order)
//   __metadata__: iter, optimizerStep, paramSteps (JSON), layoutHash
// The ImageNet feature-distance model is frozen and comes from model.pretrained, so it is
// not part of the state. Transposes are permutations, so a round trip is bit-exact.
import * as tf from '@tensorflow/tfjs';
import { tfToTorchPerm, type ParamStore } from '../model/params.js';
import type { UdaTrainer } from '../model/uda/uda-trainer.js';
import { loadStateDictIntoStore } from '../model/weights/load-into-store.js';
import { parseSafetensors } from '../model/weights/safetensors.js';
import { encodeSafetensors } from '../model/weights/safetensors-writer.js';
import { CheckpointError, type StateDict } from '../model/weights/tensor-record.js';

export const STATE_STORES = ['student', 'teacher', 'extras'] as const;

export interface TrainStateInfo {
  iter: number;
  layoutHash: string;
}

/** Entries under `prefix.`, prefix removed. */
function under(sd: StateDict, prefix: string): StateDict {
  return new Map([...sd].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, r]) => [k.slice(prefix.length + 1), r]));
}

function storeOf(t: UdaTrainer, which: (typeof STATE_STORES)[number]): ParamStore {
  return which === 'student' ? t.model.student : which === 'teacher' ? t.model.teacher : t.model.extras;
}

function addStore(sd: StateDict, prefix: string, store: ParamStore): void {
  for (const spec of store.specs) {
    const perm = tfToTorchPerm(spec.layout);
    const data = tf.tidy(() => {
      const v = store.get(spec.name);
      return (perm ? tf.transpose(v, perm) : v).dataSync();
    });
    sd.set(`${prefix}.${spec.name}`, {
      dtype: spec.dtype,
      shape: [...spec.torchShape],
      data: spec.dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data),
    });
  }
}

export function encodeTrainState(t: UdaTrainer): Buffer {
  const sd: StateDict = new Map();
  for (const which of STATE_STORES) addStore(sd, which, storeOf(t, which));
  const opt = t.optimizer.state();
  for (const [name, m] of opt.m) sd.set(`optimizer.m.${name}`, { dtype: 'float32', shape: [m.length], data: m });
  for (const [name, v] of opt.v) sd.set(`optimizer.v.${name}`, { dtype: 'float32', shape: [v.length], data: v });
  return encodeSafetensors(sd, {
    iter: String(t.iter),
    optimizerStep: String(opt.step),
    paramSteps: JSON.stringify(Object.fromEntries(opt.paramSteps)),
    layoutHash: t.model.layoutHash(),
  });
}

/** The safetensors JSON header's __metadata__ (parseSafetensors returns tensors only). */
function metadataOf(buf: Buffer, file: string): Record<string, string> {
  if (buf.length < 8) throw new CheckpointError('too short for a safetensors file', file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as { __metadata__?: Record<string, string> };
  if (!header.__metadata__) throw new CheckpointError('no __metadata__ (iter, optimizer state): not a pipa training state', file);
  return header.__metadata__;
}

/** Replaces the trainer's weights, optimizer state and iteration with the blob's. */
export function loadTrainState(t: UdaTrainer, buf: Buffer, file = '<train state>'): TrainStateInfo {
  const meta = metadataOf(buf, file);
  if (meta.layoutHash !== t.model.layoutHash()) {
    throw new CheckpointError(`was written by a model with layout hash ${meta.layoutHash}, this model has ${t.model.layoutHash()}`, file);
  }
  const sd = parseSafetensors(buf, file);
  for (const which of STATE_STORES) loadStateDictIntoStore(storeOf(t, which), under(sd, which), { strict: true, file });
  const paramSteps = new Map(Object.entries(JSON.parse(meta.paramSteps) as Record<string, number>));
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const name of paramSteps.keys()) {
    const mm = sd.get(`optimizer.m.${name}`);
    const vv = sd.get(`optimizer.v.${name}`);
    if (!mm || !vv) throw new CheckpointError(`optimizer moments of '${name}' are missing`, file);
    m.set(name, mm.data as Float32Array);
    v.set(name, vv.data as Float32Array);
  }
  t.optimizer.loadState({ step: Number(meta.optimizerStep), paramSteps, m, v });
  t.iter = Number(meta.iter);
  return { iter: t.iter, layoutHash: meta.layoutHash };
}
