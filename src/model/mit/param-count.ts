// Parameter counts straight from declarations: no tensors are allocated, so even MiT-B5
// can be counted cheaply (used to check the architecture against SPEC §3.1).
import { ParamRegistry, type ParamSpec } from '../params.js';
import type { MitConfig } from './mit-config.js';
import { MixVisionTransformer } from './mix-vision-transformer.js';

/** Number of scalars in the specs of `kind` (default: trainable parameters only). */
export function countParams(specs: readonly ParamSpec[], kind: ParamSpec['kind'] = 'param'): number {
  let n = 0;
  for (const s of specs) if (s.kind === kind) n += s.torchShape.reduce((a, b) => a * b, 1);
  return n;
}

/** Trainable parameters of a MiT encoder (no classifier head). */
export function mitParamCount(cfg: MitConfig): number {
  const reg = new ParamRegistry();
  new MixVisionTransformer(reg.scope('backbone'), cfg);
  return countParams(reg.specs);
}
