// Loading segmentor weights for evaluation or initialisation from any checkpoint users have:
// this project's run checkpoints (`student.*` keys), released PiPa/HRDA UDA checkpoints
// (`model.*` = student), plain mmseg segmentor checkpoints, or SegFormer ImageNet
// `mit_b*.pth` files (backbone only; the other keys keep their initialisation).
import { readCheckpoint } from '../model/weights/pth.js';
import { detectLayout, mapMitImagenetKeys, splitUdaStateDict, stripModulePrefix } from '../model/weights/key-layouts.js';
import { loadStateDictIntoStore, type LoadReport } from '../model/weights/load-into-store.js';
import { CheckpointError, type StateDict } from '../model/weights/tensor-record.js';
import type { ParamStore } from '../model/params.js';

export type WeightsKind = 'run' | 'uda' | 'segmentor' | 'mit-imagenet';

/** Keys under `prefix.` with the prefix removed. */
export function withPrefix(sd: StateDict, prefix: string): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of sd) if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), v);
  return out;
}

export function loadStudentWeights(store: ParamStore, path: string): LoadReport & { kind: WeightsKind } {
  const sd = stripModulePrefix(readCheckpoint(path));
  if ([...sd.keys()].some((k) => k.startsWith('student.'))) {
    return { kind: 'run', ...loadStateDictIntoStore(store, withPrefix(sd, 'student'), { strict: true, file: path }) };
  }
  const layout = detectLayout(sd);
  if (layout === 'uda') return { kind: 'uda', ...loadStateDictIntoStore(store, splitUdaStateDict(sd).student, { strict: true, file: path }) };
  if (layout === 'segmentor') return { kind: 'segmentor', ...loadStateDictIntoStore(store, sd, { strict: true, file: path }) };
  if (layout === 'mit-imagenet') {
    const m = mapMitImagenetKeys(sd, store.names());
    const r = loadStateDictIntoStore(store, m.stateDict, { strict: false, file: path });
    return { kind: 'mit-imagenet', ...r, missing: m.missing, unexpected: m.unexpected };
  }
  throw new CheckpointError('neither a pipa run checkpoint, a PiPa/HRDA UDA checkpoint, an mmseg segmentor checkpoint nor SegFormer mit_b*.pth weights', path);
}
