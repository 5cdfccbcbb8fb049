// Chooses and initialises the TF.js backend. `tensorflow` = libtensorflow through
// @tensorflow/tfjs-node-gpu (CUDA), falling back to @tensorflow/tfjs-node (CPU); both are
// optional dependencies because their install downloads libtensorflow.
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm/register.js';
import { registerFastCpuKernels } from './cpu/fast-kernels.js';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  /** The backend asked for. */
  requested: BackendName;
  /** tf.getBackend() after initialisation: 'tensorflow' | 'wasm' | 'cpu'. */
  active: string;
  /** Which package provided it, e.g. '@tensorflow/tfjs-node-gpu'. */
  provider: string;
  /** Why the preferred candidates were skipped. */
  skipped: string[];
}

export class BackendUnavailableError extends Error {
  constructor(requested: BackendName, reasons: string[]) {
    super(`backend '${requested}' is not available here: ${reasons.join('; ')}`);
    this.name = 'BackendUnavailableError';
  }
}

async function tryTensorflow(skipped: string[]): Promise<string | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return pkg;
      skipped.push(`${pkg}: loaded but the 'tensorflow' backend did not initialise`);
    } catch (e) {
      skipped.push(`${pkg}: ${String((e as Error).message).split('\n')[0]}`);
    }
  }
  return null;
}

async function tryWasm(skipped: string[]): Promise<string | null> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      registerWasmTrainingKernels(); // missing gradient kernels + fast-path replacements
      return '@tensorflow/tfjs-backend-wasm';
    }
    skipped.push('@tensorflow/tfjs-backend-wasm: did not initialise');
  } catch (e) {
    skipped.push(`@tensorflow/tfjs-backend-wasm: ${(e as Error).message}`);
  }
  return null;
}

/**
 * Activates a backend. `auto` prefers tensorflow (GPU, then CPU libtensorflow), then wasm,
 * then the pure-JS cpu backend, and reports what it skipped so the caller can log it.
 */
export async function selectBackend(requested: BackendName): Promise<BackendChoice> {
  const skipped: string[] = [];
  const done = (provider: string): BackendChoice => ({ requested, active: tf.getBackend(), provider, skipped });
  if (requested === 'tensorflow' || requested === 'auto') {
    const p = await tryTensorflow(skipped);
    if (p) return done(p);
    if (requested === 'tensorflow') throw new BackendUnavailableError(requested, skipped);
  }
  if (requested === 'wasm' || requested === 'auto') {
    const p = await tryWasm(skipped);
    if (p) return done(p);
    if (requested === 'wasm') throw new BackendUnavailableError(requested, skipped);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  registerFastCpuKernels();
  return done('@tensorflow/tfjs-backend-cpu');
}
