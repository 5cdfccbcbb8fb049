// Turns a pickled tensor (a strided view into a storage) into a contiguous TensorRecord.
// Views are resolved at the byte level, so one gather works for every dtype; the values
// are then decoded by the same decodeRaw the safetensors reader uses.
import { decodeRaw } from './safetensors.js';
import { CheckpointError, numel, type TensorRecord } from './tensor-record.js';
import type { TensorRef } from './torch-globals.js';

/** Row-major strides of a contiguous tensor of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * `storageBytes` holds the whole storage the view points into; the result owns its data.
 * Throws CheckpointError (naming the key) for unsupported dtypes and out-of-range views.
 */
export function materializeTensor(ref: TensorRef, storageBytes: Buffer, name: string, file: string): TensorRecord {
  const st = ref.storage.type.dtype;
  if ('unsupported' in st) {
    throw new CheckpointError(`tensor '${name}' has dtype ${st.unsupported}, which pipa cannot load (supported: float32/64/16, bfloat16, int64/32/16/8, uint8, bool)`, file);
  }
  const es = st.bytes;
  const { shape, stride, storageOffset } = ref;
  const n = numel(shape);
  if (storageBytes.length !== ref.storage.numel * es) {
    throw new CheckpointError(
      `tensor '${name}': storage ${ref.storage.key} has ${storageBytes.length} bytes, expected ${ref.storage.numel} × ${es}`,
      file,
    );
  }
  if (n === 0) return decodeRaw(Buffer.alloc(0), st.dtype, shape, name, file);
  let last = storageOffset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  if (last >= ref.storage.numel) {
    throw new CheckpointError(
      `tensor '${name}' (shape [${shape}], stride [${stride}], offset ${storageOffset}) reaches element ${last} of a ${ref.storage.numel}-element storage`,
      file,
    );
  }
  if (isContiguous(shape, stride)) {
    return decodeRaw(storageBytes.subarray(storageOffset * es, (storageOffset + n) * es), st.dtype, shape, name, file);
  }
  return decodeRaw(gather(storageBytes, es, shape, stride, storageOffset), st.dtype, shape, name, file);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const want = contiguousStrides(shape);
  // A dimension of size 1 may carry any stride (torch leaves them arbitrary).
  return shape.every((s, d) => s === 1 || stride[d] === want[d]);
}

/** Copy the elements of a strided view, in row-major order, into a new buffer. */
function gather(src: Buffer, es: number, shape: readonly number[], stride: readonly number[], offset: number): Buffer {
  const n = numel(shape);
  const out = Buffer.allocUnsafe(n * es);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let srcElem = offset;
  for (let i = 0; i < n; i++) {
    src.copy(out, i * es, srcElem * es, srcElem * es + es);
    // Odometer increment of the multi-index, keeping the source element in step.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      srcElem += stride[d];
      if (idx[d] < shape[d]) break;
      srcElem -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}
