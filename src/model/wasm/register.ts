// Makes the wasm backend able to train the model, and fast at it.
// - adds the gradient kernels tfjs-backend-wasm 4.22 lacks (conv filter gradient, both
//   depthwise gradients, UnsortedSegmentSum = gather's gradient);
// - replaces slow wasm kernels by compositions of fast ones: BatchMatMul (autograd's
//   transposed/batched products kept on XNNPACK's fast path), Conv2DBackpropInput (as a
//   forward conv), Slice/SplitV (no whole-input copy), Sum/Mean over leading axes (column sums),
//   Identity (shared memory instead of a copy).
// Call it after the wasm backend is active (selectBackend does); calling again is a no-op.
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputWasm } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwise-backprop.js';
import { fastBatchMatMulWasm } from './fast-batch-matmul.js';
import { fastMeanWasm, fastSumWasm } from './fast-reduce.js';
import { fastSliceWasm, fastSplitVWasm } from './fast-slice.js';
import { sharedIdentityWasm } from './shared-identity.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';

/** The speed-only replacements; each can be switched off to measure what it buys. */
export interface WasmTrainingKernelOptions {
  /** BatchMatMul without transpose flags / batches (default true). */
  fastMatMul?: boolean;
  /** Conv2DBackpropInput as a forward conv (default true). */
  fastConvInputGrad?: boolean;
  /** Slice and SplitV through a heap view (default true). */
  fastSlice?: boolean;
  /** Sum/Mean over leading axes as column sums (default true). */
  fastReduce?: boolean;
  /** Identity (the tape's saved-tensor clone) shares memory instead of copying (default true). */
  sharedIdentity?: boolean;
}

export interface WasmTrainingKernelReport {
  /** Kernels added (missing before). */
  added: string[];
  /** Kernels whose wasm implementation was replaced. */
  replaced: string[];
  /** Kernels left alone because wasm (or an earlier call) already provides them. */
  present: string[];
}

const MISSING: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterWasm,
  depthwiseBackpropFilterWasm,
  depthwiseBackpropInputWasm,
  unsortedSegmentSumWasm,
];

/** The speed-up replacements by option (exported so the step bench can switch each on and off). */
export const WASM_SPEEDUPS: ReadonlyArray<{ option: keyof WasmTrainingKernelOptions; build: () => tf.KernelConfig }> = [
  { option: 'fastMatMul', build: fastBatchMatMulWasm },
  { option: 'fastConvInputGrad', build: conv2dBackpropInputWasm },
  { option: 'fastSlice', build: fastSliceWasm },
  { option: 'fastSlice', build: fastSplitVWasm },
  { option: 'fastReduce', build: fastSumWasm },
  { option: 'fastReduce', build: fastMeanWasm },
  { option: 'sharedIdentity', build: sharedIdentityWasm },
];

const replacedOnce = new Set<string>();

export function registerWasmTrainingKernels(o: WasmTrainingKernelOptions = {}): WasmTrainingKernelReport {
  const report: WasmTrainingKernelReport = { added: [], replaced: [], present: [] };
  for (const cfg of MISSING) {
    if (tf.getKernel(cfg.kernelName, 'wasm')) {
      report.present.push(cfg.kernelName);
    } else {
      tf.registerKernel(cfg);
      report.added.push(cfg.kernelName);
    }
  }
  for (const r of WASM_SPEEDUPS) {
    if (o[r.option] === false) continue;
    const cfg = r.build(); // captures the original kernel before it is unregistered
    if (replacedOnce.has(cfg.kernelName)) {
      report.present.push(`${cfg.kernelName} (replaced earlier)`);
      continue;
    }
    if (tf.getKernel(cfg.kernelName, 'wasm')) tf.unregisterKernel(cfg.kernelName, 'wasm');
    tf.registerKernel(cfg);
    replacedOnce.add(cfg.kernelName);
    report.replaced.push(cfg.kernelName);
  }
  return report;
}
