// The parameter store: every weight and buffer of a model under its ORIGINAL PyTorch
// name (e.g. `backbone.block1.0.attn.q.weight`), held in TF.js layout (NHWC convs,
// [in,out] dense kernels). Modules only declare names and shapes; tensors live here,
// so one module tree can run with several stores (student, EMA teacher, ImageNet model).
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';

/** How a PyTorch tensor is laid out, which decides its transpose to TF.js. */
export type Layout =
  | 'linear' // torch [out, in]          -> tf [in, out]
  | 'conv' // torch [out, in, kh, kw]  -> tf [kh, kw, in, out]
  | 'depthwise' // torch [C, 1, kh, kw]     -> tf [kh, kw, C, 1]
  | 'vector' // unchanged (biases, norms, running stats)
  | 'scalar'; // unchanged (0-d)

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number; mean?: number }
  | { kind: 'truncNormal'; std: number }
  | { kind: 'uniform'; bound: number };

export interface ParamSpec {
  /** Original PyTorch state-dict key. */
  name: string;
  /** Shape as PyTorch stores it. */
  torchShape: number[];
  layout: Layout;
  /** 'param' = trainable tensor (nn.Parameter); 'buffer' = BN running stats etc. */
  kind: 'param' | 'buffer';
  /** int64 buffers (num_batches_tracked) are held as int32. */
  dtype: 'float32' | 'int32';
  init: Init;
}

/** Shape of a tensor of `layout` in TF.js given its PyTorch shape. */
export function tfShape(layout: Layout, torchShape: readonly number[]): number[] {
  switch (layout) {
    case 'linear':
      return [torchShape[1], torchShape[0]];
    case 'conv':
      return [torchShape[2], torchShape[3], torchShape[1], torchShape[0]];
    case 'depthwise':
      return [torchShape[2], torchShape[3], torchShape[0], 1];
    default:
      return [...torchShape];
  }
}

/** Permutation that takes a PyTorch-shaped tensor to TF.js layout (null = identity). */
export function torchToTfPerm(layout: Layout): number[] | null {
  switch (layout) {
    case 'linear':
      return [1, 0];
    case 'conv':
      return [2, 3, 1, 0];
    case 'depthwise':
      return [2, 3, 0, 1];
    default:
      return null;
  }
}

/** Inverse of torchToTfPerm. */
export function tfToTorchPerm(layout: Layout): number[] | null {
  switch (layout) {
    case 'linear':
      return [1, 0];
    case 'conv':
      return [3, 2, 0, 1];
    case 'depthwise':
      return [2, 3, 0, 1];
    default:
      return null;
  }
}

/** Collects parameter declarations while a module tree is constructed. */
export class ParamRegistry {
  readonly specs: ParamSpec[] = [];
  private readonly byName = new Map<string, ParamSpec>();

  scope(prefix: string): ParamScope {
    return new ParamScope(this, prefix);
  }

  add(spec: ParamSpec): string {
    if (this.byName.has(spec.name)) throw new Error(`parameter declared twice: ${spec.name}`);
    this.byName.set(spec.name, spec);
    this.specs.push(spec);
    return spec.name;
  }

  spec(name: string): ParamSpec | undefined {
    return this.byName.get(name);
  }
}

/** A name prefix inside a registry; `child('fc1')` nests with a dot. */
export class ParamScope {
  constructor(
    readonly registry: ParamRegistry,
    readonly prefix: string,
  ) {}

  child(name: string | number): ParamScope {
    return new ParamScope(this.registry, this.join(String(name)));
  }

  join(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  param(name: string, torchShape: number[], layout: Layout, init: Init): string {
    return this.registry.add({ name: this.join(name), torchShape, layout, kind: 'param', dtype: 'float32', init });
  }

  buffer(name: string, torchShape: number[], init: Init, dtype: 'float32' | 'int32' = 'float32'): string {
    const layout: Layout = torchShape.length === 0 ? 'scalar' : 'vector';
    return this.registry.add({ name: this.join(name), torchShape, layout, kind: 'buffer', dtype, init });
  }
}

/** Read access used by forward passes. */
export interface ParamSource {
  get(name: string): tf.Tensor;
}

/** Deterministic initial value for one spec (seeded by name so order never matters). */
function initialValue(spec: ParamSpec, seed: number): tf.Tensor {
  const shape = tfShape(spec.layout, spec.torchShape);
  const s = seedFor(seed, spec.name);
  const init = spec.init;
  switch (init.kind) {
    case 'zeros':
      return tf.zeros(shape, spec.dtype);
    case 'ones':
      return tf.ones(shape, spec.dtype);
    case 'normal':
      return tf.randomNormal(shape, init.mean ?? 0, init.std, 'float32', s);
    case 'truncNormal':
      return tf.truncatedNormal(shape, 0, init.std, 'float32', s);
    case 'uniform':
      return tf.randomUniform(shape, -init.bound, init.bound, 'float32', s);
  }
}

function seedFor(seed: number, name: string): number {
  const h = createHash('sha256').update(`${seed}:${name}`).digest();
  return h.readUInt32LE(0);
}

/** The tensors of one model instance: tf.Variables keyed by original names. */
export class ParamStore implements ParamSource {
  readonly specs: readonly ParamSpec[];
  private readonly vars = new Map<string, tf.Variable>();
  private readonly specByName = new Map<string, ParamSpec>();

  constructor(specs: readonly ParamSpec[], seed = 0, trainable = true) {
    this.specs = specs;
    for (const spec of specs) {
      this.specByName.set(spec.name, spec);
      const v = tf.tidy(() => initialValue(spec, seed));
      this.vars.set(spec.name, tf.variable(v, trainable && spec.kind === 'param', `${spec.name}#${storeId++}`, spec.dtype));
      v.dispose();
    }
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named '${name}' in this model`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  spec(name: string): ParamSpec {
    const s = this.specByName.get(name);
    if (!s) throw new Error(`no parameter named '${name}' in this model`);
    return s;
  }

  names(): string[] {
    return this.specs.map((s) => s.name);
  }

  /** Trainable parameters in declaration order (the fixed order of the fusion buffer). */
  trainable(): Array<[string, tf.Variable]> {
    return this.specs.filter((s) => s.kind === 'param').map((s) => [s.name, this.get(s.name)]);
  }

  /** Replace a value; `value` must already be in TF.js layout and shape. */
  assign(name: string, value: tf.Tensor): void {
    const v = this.get(name);
    if (!tf.util.arraysEqual(v.shape, value.shape)) {
      throw new Error(`shape mismatch for '${name}': model has [${v.shape}] but got [${value.shape}]`);
    }
    v.assign(value.dtype === v.dtype ? value : tf.cast(value, v.dtype));
  }

  /** Copy every value from another store with the same specs. */
  copyFrom(other: ParamStore, filter: (spec: ParamSpec) => boolean = () => true): void {
    for (const spec of this.specs) if (filter(spec)) this.get(spec.name).assign(other.get(spec.name));
  }

  /** Hash of names, PyTorch shapes, layouts and kinds: equal iff two processes build the same model. */
  layoutHash(): string {
    const h = createHash('sha256');
    for (const s of this.specs) h.update(`${s.name}|${s.torchShape.join('x')}|${s.layout}|${s.kind}|${s.dtype}\n`);
    return h.digest('hex');
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let storeId = 0;
