// Reads torch.save checkpoints (the ZIP format, default since torch 1.6): the pickle
// `<dir>/data.pkl` describes the object, each storage is the record `<dir>/data/<key>`.
// Returns every tensor of the state dict under its original key, or throws a
// CheckpointError: a file is read completely or not at all.
import { readSafetensorsFile } from './safetensors.js';
import { detectCheckpointFormat, unreadableFormatError } from './format-sniff.js';
import { materializeTensor } from './strided-view.js';
import { CheckpointError, type StateDict } from './tensor-record.js';
import { StorageGlobal, StorageRef, TensorRef, findTorchGlobal } from './torch-globals.js';
import { PyDict, describe, isTuple, unpickle } from './unpickler.js';
import { ZipArchive } from './zip-reader.js';

/** Where the state dict sat in the pickled object. */
export type PthContainer = 'state_dict' | 'model' | 'raw';

export interface PthContents {
  stateDict: StateDict;
  container: PthContainer;
  /** Keys of the chosen dict whose values are not tensors (skipped). */
  ignored: string[];
  /** Storage record of each tensor: keys that share a storage in the file share a value. */
  storageOf: Map<string, string>;
}

/** Tensors of a .pth file ({'state_dict': …}, {'model': …}, {'meta', 'state_dict'} or a raw dict). */
export function readPthFile(path: string): StateDict {
  return readPth(path).stateDict;
}

/** Any supported checkpoint, chosen by content: torch ZIP (.pth/.pt) or safetensors. */
export function readCheckpoint(path: string): StateDict {
  const format = detectCheckpointFormat(path);
  if (format === 'torch-zip') return readPthFile(path);
  if (format === 'safetensors') return readSafetensorsFile(path);
  throw unreadableFormatError(format, path);
}

export function readPth(path: string): PthContents {
  const format = detectCheckpointFormat(path);
  if (format !== 'torch-zip') {
    if (format === 'safetensors') throw new CheckpointError('is a safetensors file, not a .pth; use readCheckpoint', path);
    throw unreadableFormatError(format, path);
  }
  const zip = ZipArchive.open(path);
  try {
    return readFromArchive(zip, path);
  } finally {
    zip.close();
  }
}

function readFromArchive(zip: ZipArchive, file: string): PthContents {
  const dir = findArchiveDir(zip, file);
  const byteorder = zip.entries.has(`${dir}/byteorder`) ? zip.read(`${dir}/byteorder`).toString('latin1').trim() : 'little';
  if (byteorder !== 'little') throw new CheckpointError(`saved on a ${byteorder}-endian machine; only little-endian checkpoints are supported`, file);

  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!isTuple(pid) || pid[0] !== 'storage' || pid.length < 5) throw new CheckpointError(`unsupported persistent id ${describe(pid)} in data.pkl`, file);
    const [, type, key, location, numel] = pid;
    if (!(type instanceof StorageGlobal) || typeof key !== 'string' || !Number.isSafeInteger(numel)) {
      throw new CheckpointError(`malformed storage reference (${describe(type)}, ${describe(key)}, ${describe(numel)}) in data.pkl`, file);
    }
    const seen = storages.get(key);
    if (seen) return seen;
    if (!zip.entries.has(`${dir}/data/${key}`)) throw new CheckpointError(`storage record '${dir}/data/${key}' is missing from the archive`, file);
    const ref = new StorageRef(key, type.storageType, numel as number, String(location));
    storages.set(key, ref);
    return ref;
  };
  const root = unpickle(zip.read(`${dir}/data.pkl`), { findGlobal: findTorchGlobal, persistentLoad, file, what: `${dir}/data.pkl` });
  const { dict, container } = chooseStateDict(root, file);

  const tensors: Array<[string, TensorRef]> = [];
  const ignored: string[] = [];
  for (const [k, v] of dict.items) {
    if (typeof k === 'string' && v instanceof TensorRef) tensors.push([k, v]);
    else ignored.push(String(k));
  }
  // Read each storage record once and drop it after its last view is decoded.
  const pending = new Map<string, number>();
  for (const [, t] of tensors) pending.set(t.storage.key, (pending.get(t.storage.key) ?? 0) + 1);
  const cache = new Map<string, Buffer>();
  const stateDict: StateDict = new Map();
  const storageOf = new Map<string, string>();
  for (const [name, t] of tensors) {
    const key = t.storage.key;
    let bytes = cache.get(key);
    if (!bytes) {
      bytes = zip.read(`${dir}/data/${key}`);
      cache.set(key, bytes);
    }
    stateDict.set(name, materializeTensor(t, bytes, name, file));
    storageOf.set(name, key);
    const left = pending.get(key)! - 1;
    pending.set(key, left);
    if (left === 0) cache.delete(key);
  }
  return { stateDict, container, ignored, storageOf };
}

/** The top folder holding data.pkl (torch names it after the file, or 'archive'). */
function findArchiveDir(zip: ZipArchive, file: string): string {
  const dirs = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
  if (dirs.length === 1) return dirs[0];
  if (dirs.length > 1) throw new CheckpointError(`ZIP archive holds several pickles (${dirs.join(', ')}); not a single torch.save checkpoint`, file);
  if (zip.names().some((n) => /(^|\/)constants\.pkl$/.test(n) || /(^|\/)code\//.test(n))) {
    throw new CheckpointError('is a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead', file);
  }
  throw new CheckpointError(`ZIP archive without <dir>/data.pkl, so not a torch.save checkpoint (entries: ${zip.names().slice(0, 5).join(', ')})`, file);
}

function hasTensor(d: PyDict): boolean {
  for (const v of d.items.values()) if (v instanceof TensorRef) return true;
  return false;
}

function chooseStateDict(root: unknown, file: string): { dict: PyDict; container: PthContainer } {
  if (!(root instanceof PyDict)) {
    throw new CheckpointError(`top-level object is a ${describe(root)}, not a dict of tensors (save model.state_dict(), not the model)`, file);
  }
  const sd = root.items.get('state_dict');
  if (sd instanceof PyDict && hasTensor(sd)) return { dict: sd, container: 'state_dict' };
  const model = root.items.get('model');
  if (model instanceof PyDict && hasTensor(model)) return { dict: model, container: 'model' };
  if (hasTensor(root)) return { dict: root, container: 'raw' };
  const keys = [...root.items.keys()].slice(0, 8).map(String).join(', ');
  throw new CheckpointError(`no tensors found: expected a state dict, {'state_dict': …} or {'model': …}; top-level keys: ${keys || '(none)'}`, file);
}
