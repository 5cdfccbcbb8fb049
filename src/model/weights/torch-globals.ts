// The allow-list of Python globals a torch checkpoint may reference, each replaced by a
// pure builder: tensors become TensorRefs (storage + offset + size + stride, read later),
// containers become plain values. Nothing here imports or runs Python code.
import { PyDict, PyGlobal, describe, isTuple, type Buildable } from './unpickler.js';
import type { RecordDtype } from './tensor-record.js';

/** Storage element type: a readable dtype, or the torch name of one pipa cannot read. */
export type StorageDtype = { dtype: RecordDtype; bytes: number } | { unsupported: string };

const STORAGE_DTYPES: Record<string, StorageDtype> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};
/** Storage types torch can write that pipa reports as unsupported rather than as forbidden. */
const UNSUPPORTED_STORAGES = [
  'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'QUInt8Storage', 'QInt32Storage',
  'QUInt4x2Storage', 'QUInt2x4Storage', 'UntypedStorage',
];

/** The storage class named in a persistent id. */
export class StorageType {
  constructor(
    readonly torchName: string,
    readonly dtype: StorageDtype,
  ) {}
}

/** One `<archive>/data/<key>` record (several tensors may view the same one). */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly type: StorageType,
    /** Number of elements (torch writes elements, not bytes). */
    readonly numel: number,
    readonly location: string,
  ) {}
}

/** A tensor as pickled: a strided view into a storage; its bytes are read on demand. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** numpy.dtype as it appears in pickled numpy scalars (meta entries such as best mIoU). */
class NumpyDtype implements Buildable {
  byteOrder = '<';
  constructor(readonly code: string) {}
  setState(state: unknown): void {
    if (isTuple(state) && typeof state[1] === 'string') this.byteOrder = state[1];
  }
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
    throw new Error(`${what} must be a tuple of non-negative ints, got ${describe(v)}`);
  }
  return [...(v as number[])];
}

function rebuildTensor(args: readonly unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error(`first argument is a ${describe(storage)}, not a storage`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error(`bad storage offset ${String(offset)}`);
  const shape = intList(size, 'size');
  const strides = intList(stride, 'stride');
  if (shape.length !== strides.length) throw new Error(`size [${shape}] and stride [${strides}] differ in rank`);
  return new TensorRef(storage, offset as number, shape, strides);
}

function firstTensor(args: readonly unknown[]): TensorRef {
  if (!(args[0] instanceof TensorRef)) throw new Error(`expected a tensor, got ${describe(args[0])}`);
  return args[0];
}

function numpyScalar(args: readonly unknown[]): number | bigint {
  const [dt, raw] = args;
  if (!(dt instanceof NumpyDtype) || !Buffer.isBuffer(raw)) throw new Error('expected (dtype, bytes)');
  const le = dt.byteOrder !== '>';
  const readers: Record<string, (b: Buffer) => number | bigint> = {
    f8: (b) => (le ? b.readDoubleLE(0) : b.readDoubleBE(0)),
    f4: (b) => (le ? b.readFloatLE(0) : b.readFloatBE(0)),
    i8: (b) => (le ? b.readBigInt64LE(0) : b.readBigInt64BE(0)),
    i4: (b) => (le ? b.readInt32LE(0) : b.readInt32BE(0)),
    u8: (b) => (le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0)),
    u4: (b) => (le ? b.readUInt32LE(0) : b.readUInt32BE(0)),
    b1: (b) => b[0],
  };
  const read = readers[dt.code];
  if (!read) throw new Error(`numpy scalar of dtype '${dt.code}' is not supported`);
  const v = read(raw);
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function marker(module: string, name: string): PyGlobal {
  return new PyGlobal(module, name, () => {
    throw new Error(`${module}.${name} cannot be constructed directly`);
  });
}

type Builder = (args: readonly unknown[]) => unknown;

const BUILDERS: Record<string, Builder> = {
  'collections.OrderedDict': (args) => {
    const d = new PyDict('OrderedDict');
    const init = args[0];
    if (Array.isArray(init)) for (const kv of init) if (Array.isArray(kv) && kv.length === 2) d.items.set(kv[0], kv[1]);
    return d;
  },
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  'torch._utils._rebuild_parameter': firstTensor,
  'torch._utils._rebuild_parameter_with_state': firstTensor,
  'torch._tensor._rebuild_from_type_v2': (args) => {
    const [fn, type, fnArgs] = args;
    const plain = type instanceof PyGlobal && ['torch.Tensor', 'torch.nn.parameter.Parameter'].includes(type.qualname);
    if (!(fn instanceof PyGlobal) || !plain) throw new Error(`tensor subclass ${describe(type)} is not supported`);
    if (!Array.isArray(fnArgs)) throw new Error('arguments must be a tuple');
    return fn.call(fnArgs);
  },
  'torch.device': (args) => String(args[0]) + (args.length > 1 && args[1] !== null ? `:${String(args[1])}` : ''),
  'torch.Size': (args) => Object.freeze([...((args[0] as unknown[]) ?? [])]),
  'builtins.set': (args) => new Set((args[0] as unknown[]) ?? []),
  'builtins.frozenset': (args) => new Set((args[0] as unknown[]) ?? []),
  // Python 3 pickles of numpy scalars (protocol 2) spell bytes as _codecs.encode(str, 'latin1').
  '_codecs.encode': (args) => Buffer.from(String(args[0]), args[1] === 'latin1' || args[1] === 'latin-1' ? 'latin1' : 'utf8'),
  'numpy.dtype': (args) => new NumpyDtype(String(args[0])),
  'numpy.core.multiarray.scalar': numpyScalar,
  'numpy._core.multiarray.scalar': numpyScalar,
};

/** Resolves module.name to its allow-listed builder, or undefined (the unpickler then refuses it). */
export function findTorchGlobal(module: string, name: string): PyGlobal | undefined {
  const qual = `${module}.${name}`;
  const builder = BUILDERS[qual];
  if (builder) return new PyGlobal(module, name, builder);
  if (module === 'torch') {
    const dt = STORAGE_DTYPES[name] ?? (UNSUPPORTED_STORAGES.includes(name) ? { unsupported: `torch.${name}` } : undefined);
    if (dt) return new StorageGlobal(name, dt);
    if (name === 'Tensor') return marker(module, name);
  }
  if (qual === 'torch.nn.parameter.Parameter') return marker(module, name);
  return undefined;
}

/** A storage class; only ever used as the type field of a persistent id. */
export class StorageGlobal extends PyGlobal {
  readonly storageType: StorageType;
  constructor(name: string, dtype: StorageDtype) {
    super('torch', name, () => {
      throw new Error(`torch.${name} cannot be constructed directly`);
    });
    this.storageType = new StorageType(`torch.${name}`, dtype);
  }
}
