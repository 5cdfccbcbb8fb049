// Parameter declarations with the MiT from-scratch init (SPEC §3.4): Linear weights
// trunc-normal(std 0.02) and zero bias; Conv weights normal(0, sqrt(2/fan_out)) with
// fan_out = kh·kw·out/groups and zero bias. (Pretrained weights overwrite all of these.)
import type { ParamScope } from '../params.js';

export interface LinearNames {
  weight: string;
  bias: string | null;
}

export interface ConvNames {
  weight: string;
  bias: string;
}

/** nn.Linear(inDim → outDim) under `scope`: weight torch [out, in]. */
export function declareLinear(scope: ParamScope, inDim: number, outDim: number, bias = true): LinearNames {
  return {
    weight: scope.param('weight', [outDim, inDim], 'linear', { kind: 'truncNormal', std: 0.02 }),
    bias: bias ? scope.param('bias', [outDim], 'vector', { kind: 'zeros' }) : null,
  };
}

/** nn.Conv2d(inCh → outCh, k×k) with bias under `scope`: weight torch [out, in, k, k]. */
export function declareConv(scope: ParamScope, inCh: number, outCh: number, k: number): ConvNames {
  const std = Math.sqrt(2 / (k * k * outCh));
  return {
    weight: scope.param('weight', [outCh, inCh, k, k], 'conv', { kind: 'normal', std }),
    bias: scope.param('bias', [outCh], 'vector', { kind: 'zeros' }),
  };
}

/** Depthwise nn.Conv2d(C → C, k×k, groups=C) with bias: weight torch [C, 1, k, k], fan_out = k·k. */
export function declareDepthwiseConv(scope: ParamScope, channels: number, k: number): ConvNames {
  const std = Math.sqrt(2 / (k * k));
  return {
    weight: scope.param('weight', [channels, 1, k, k], 'depthwise', { kind: 'normal', std }),
    bias: scope.param('bias', [channels], 'vector', { kind: 'zeros' }),
  };
}
