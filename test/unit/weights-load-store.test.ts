// Nothing half-loads: a checkpoint with one wrong shape (or a missing key in strict mode)
// is rejected before any variable is assigned, and the error names the key and both shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ParamRegistry, ParamStore } from '../../src/model/params.js';
import { loadStateDictIntoStore } from '../../src/model/weights/load-into-store.js';
import { CheckpointError, type StateDict } from '../../src/model/weights/tensor-record.js';
import { useTestBackend } from '../helpers/backend.js';
import { withLeakCheck } from '../helpers/golden.js';

function makeStore(): ParamStore {
  const reg = new ParamRegistry();
  const s = reg.scope('m');
  s.param('a.weight', [4, 3], 'linear', { kind: 'normal', std: 1 });
  s.param('conv.weight', [2, 3, 3, 3], 'conv', { kind: 'normal', std: 1 });
  s.buffer('bn.num_batches_tracked', [], { kind: 'zeros' }, 'int32');
  s.param('z.bias', [5], 'vector', { kind: 'normal', std: 1 });
  return new ParamStore(reg.specs, 3);
}

function snapshot(store: ParamStore): Map<string, number[]> {
  return new Map(store.names().map((n) => [n, [...store.get(n).dataSync()]]));
}

function fullDict(store: ParamStore): StateDict {
  const sd: StateDict = new Map();
  for (const spec of store.specs) {
    const n = spec.torchShape.reduce((a, b) => a * b, 1);
    const data = spec.dtype === 'int32' ? Int32Array.from({ length: n }, (_, i) => i + 1) : Float32Array.from({ length: n }, (_, i) => i + 0.5);
    sd.set(spec.name, { dtype: spec.dtype === 'int32' ? 'int64' : 'float32', shape: [...spec.torchShape], data });
  }
  return sd;
}

test('load-into-store: shape mismatch names key and both shapes; store unchanged', async () => {
  await useTestBackend();
  await withLeakCheck(() => {
    const store = makeStore();
    const before = snapshot(store);
    const sd = fullDict(store);
    // The bad key comes last in declaration order, after keys that would load fine.
    sd.set('m.z.bias', { dtype: 'float32', shape: [6], data: new Float32Array(6) });
    assert.throws(
      () => loadStateDictIntoStore(store, sd, { file: 'ckpt.pth' }),
      (e: unknown) => e instanceof CheckpointError && e.message === "ckpt.pth: key 'm.z.bias' has shape [6] in the checkpoint but [5] in the model",
    );
    assert.deepEqual(snapshot(store), before, 'no variable was assigned');

    const missing = fullDict(store);
    missing.delete('m.conv.weight');
    assert.throws(() => loadStateDictIntoStore(store, missing, { file: 'ckpt.pth' }), /ckpt\.pth: 1 model keys missing .*m\.conv\.weight/);
    assert.deepEqual(snapshot(store), before, 'strict missing-key failure assigns nothing');

    // The good dict loads and is transposed to TF layout (linear [4,3] → [3,4]).
    const good = fullDict(store);
    good.set('extra.key', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const r = loadStateDictIntoStore(store, good);
    assert.equal(r.loaded.length, 4);
    assert.deepEqual(r.unexpected, ['extra.key']);
    const w = store.get('m.a.weight');
    assert.deepEqual(w.shape, [3, 4]);
    const expected = tf.tidy(() => tf.transpose(tf.tensor(good.get('m.a.weight')!.data as Float32Array, [4, 3])));
    assert.deepEqual([...w.dataSync()], [...expected.dataSync()]);
    expected.dispose();
    assert.deepEqual([...store.get('m.bn.num_batches_tracked').dataSync()], [1]);
    store.dispose();
  });
});
