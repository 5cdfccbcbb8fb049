// `pipa convert-weights IN OUT`: any supported checkpoint → .safetensors, keeping the
// original key names and dtypes (int64 stays I64), so PyTorch's safetensors loader reads
// the result back as the same state dict.
import { basename } from 'node:path';
import { detectLayout, type WeightsLayout } from './key-layouts.js';
import { readCheckpoint } from './pth.js';
import { writeSafetensorsFile } from './safetensors-writer.js';

export interface ConvertOptions {
  /** Extra string metadata for the header (merged over the defaults). */
  metadata?: Record<string, string>;
}

export interface ConvertResult {
  tensors: number;
  /** Size of the written file. */
  bytes: number;
  layout: WeightsLayout;
}

export function convertWeights(inPath: string, outPath: string, opts: ConvertOptions = {}): ConvertResult {
  const sd = readCheckpoint(inPath);
  const layout = detectLayout(sd);
  const metadata = { format: 'pt', source: basename(inPath), layout, ...opts.metadata };
  const { tensors, bytes } = writeSafetensorsFile(outPath, sd, metadata);
  return { tensors, bytes, layout };
}
