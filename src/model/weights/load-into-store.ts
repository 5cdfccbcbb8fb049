// Puts a PyTorch-layout state dict into a ParamStore, transposing to TF.js layout.
// All keys are checked before anything is assigned, so a bad file leaves the store untouched.
import * as tf from '@tensorflow/tfjs';
import { ParamStore, torchToTfPerm } from '../params.js';
import { CheckpointError, type StateDict } from './tensor-record.js';

export interface LoadReport {
  loaded: string[];
  /** Model keys the checkpoint did not have. */
  missing: string[];
  /** Checkpoint keys the model does not have. */
  unexpected: string[];
}

export interface LoadOptions {
  /** Throw if any model key is missing (default true). */
  strict?: boolean;
  /** Name used in error messages. */
  file?: string;
}

export function loadStateDictIntoStore(store: ParamStore, sd: StateDict, opts: LoadOptions = {}): LoadReport {
  const strict = opts.strict ?? true;
  const missing: string[] = [];
  const loaded: string[] = [];
  for (const spec of store.specs) {
    const rec = sd.get(spec.name);
    if (!rec) {
      missing.push(spec.name);
      continue;
    }
    if (!tf.util.arraysEqual(rec.shape, spec.torchShape)) {
      throw new CheckpointError(
        `key '${spec.name}' has shape [${rec.shape}] in the checkpoint but [${spec.torchShape}] in the model`,
        opts.file,
      );
    }
    if (rec.dtype === 'bool') throw new CheckpointError(`key '${spec.name}' is bool; expected numbers`, opts.file);
    loaded.push(spec.name);
  }
  const modelNames = new Set(store.names());
  const unexpected = [...sd.keys()].filter((k) => !modelNames.has(k));
  if (strict && missing.length) {
    throw new CheckpointError(
      `${missing.length} model keys missing from the checkpoint, e.g. ${missing.slice(0, 5).join(', ')}`,
      opts.file,
    );
  }
  for (const name of loaded) {
    const spec = store.spec(name);
    const rec = sd.get(name)!;
    tf.tidy(() => {
      const data = spec.dtype === 'int32' ? Int32Array.from(rec.data) : Float32Array.from(rec.data);
      let t: tf.Tensor = tf.tensor(data, rec.shape, spec.dtype);
      const perm = torchToTfPerm(spec.layout);
      if (perm) t = tf.transpose(t, perm);
      store.assign(name, t);
    });
  }
  return { loaded, missing, unexpected };
}
