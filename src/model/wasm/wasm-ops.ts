// Backend-level composition of wasm kernels. The training kernels this folder registers
// are built from kernels tfjs-backend-wasm already has (Transpose, StridedSlice, BatchMatMul,
// DepthwiseConv2dNative, …). They run below the engine: no tape, no tidy, no Tensor
// objects — only TensorInfos whose memory we release ourselves. A `WasmScratch` records
// every intermediate it made and frees all of them except the one handed back to the engine.
import * as tf from '@tensorflow/tfjs';

export class WasmKernelMissingError extends Error {
  constructor(kernel: string, neededBy: string) {
    super(`${neededBy}: needs the wasm kernel '${kernel}', which is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
    this.name = 'WasmKernelMissingError';
  }
}

type KernelInputs = Record<string, tf.TensorInfo> | tf.TensorInfo[];

/** The kernel function a backend registered for `name` (captured, so later overrides don't recurse). */
export function wasmKernelFunc(name: string, neededBy: string): tf.KernelFunc {
  const cfg = tf.getKernel(name, 'wasm');
  if (!cfg) throw new WasmKernelMissingError(name, neededBy);
  return cfg.kernelFunc;
}

export class WasmScratch {
  private readonly made: tf.TensorInfo[] = [];

  constructor(
    readonly backend: tf.KernelBackend,
    private readonly owner: string,
  ) {}

  /** Runs the registered wasm kernel `name`; the result is freed by finish() unless returned. */
  run(name: string, inputs: KernelInputs, attrs: object = {}): tf.TensorInfo {
    return this.runWith(wasmKernelFunc(name, this.owner), inputs, attrs);
  }

  /** Same as run() with an explicit kernel function (e.g. the original of an overridden kernel). */
  runWith(fn: tf.KernelFunc, inputs: KernelInputs, attrs: object = {}): tf.TensorInfo {
    const out = fn({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs: attrs as tf.NamedAttrMap });
    const info = Array.isArray(out) ? out[0] : out;
    this.made.push(info);
    return info;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Plain a[m,k] × b[k,n] (batch 1, no transpose flags: XNNPACK's fast path). */
  matMul2d(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    const a3 = this.reshape(a, [1, a.shape[0], a.shape[1]]);
    const b3 = this.reshape(b, [1, b.shape[0], b.shape[1]]);
    const y = this.run('BatchMatMul', { a: a3, b: b3 }, { transposeA: false, transposeB: false });
    const out = this.reshape(y, [a.shape[0], b.shape[1]]);
    this.free(a3, b3, y); // views: only drop their references
    return out;
  }

  /** Strided window x[begin : begin + (size−1)·stride + 1 : stride] on every axis. */
  stridedWindow(x: tf.TensorInfo, begin: number[], size: number[], strides: number[]): tf.TensorInfo {
    if (strides.every((s) => s === 1)) return this.run('Slice', { x }, { begin, size });
    const end = begin.map((b, i) => b + (size[i] - 1) * strides[i] + 1);
    return this.run('StridedSlice', { x }, { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 });
  }

  /** Zero padding [[before, after], …] per axis; no-op (a shared view) when all zero. */
  pad(x: tf.TensorInfo, paddings: Array<[number, number]>): tf.TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return this.reshape(x, [...x.shape]);
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** x [B,H,W,C] with s−1 zero rows/cols between its rows/cols: [B, (H−1)·sh + 1, (W−1)·sw + 1, C]. */
  spreadRows(x: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
    if (sh === 1 && sw === 1) return x;
    const [b, h, w, c] = x.shape;
    const spread = this.pad(this.reshape(x, [b, h, 1, w, 1, c]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    const grid = this.reshape(spread, [b, h * sh, w * sw, c]);
    return this.run('Slice', { x: grid }, { begin: [0, 0, 0, 0], size: [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c] });
  }

  /** Frees intermediates early (keeps peak memory down in loops). */
  free(...infos: tf.TensorInfo[]): void {
    for (const info of infos) {
      const at = this.made.indexOf(info);
      if (at < 0) continue; // not ours (an input): never freed here
      this.made.splice(at, 1);
      this.backend.disposeData(info.dataId);
    }
  }

  /** Frees every intermediate except `keep`, which the caller hands to the engine. */
  finish(keep: tf.TensorInfo): tf.TensorInfo {
    for (const info of this.made) if (info !== keep) this.backend.disposeData(info.dataId);
    this.made.length = 0;
    return keep;
  }

  /** Frees everything (error path). */
  abandon(): void {
    for (const info of this.made) this.backend.disposeData(info.dataId);
    this.made.length = 0;
  }
}

/** Runs `body` with a scratch and frees its intermediates, whatever happens. */
export function withScratch(backend: tf.KernelBackend, owner: string, body: (s: WasmScratch) => tf.TensorInfo): tf.TensorInfo {
  const s = new WasmScratch(backend, owner);
  let out: tf.TensorInfo;
  try {
    out = body(s);
  } catch (e) {
    s.abandon();
    throw e;
  }
  return s.finish(out);
}

/** [h, w] from a number or a pair. */
export function pair(v: number | [number, number] | number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}
