// DAFormer's context-aware fusion `fuse_layer` with fusion_cfg {type:'aspp', sep:true,
// pool:false}: one branch per dilation (d = 1: 1×1 ConvModule; d > 1: depthwise-separable
// 3×3 with dilation d and padding d), concatenated, then a 3×3 bottleneck ConvModule.
// Keys: `aspp_modules.0.{conv,bn}`, `aspp_modules.i.{depthwise_conv,pointwise_conv}.{conv,bn}`,
// `bottleneck.{conv,bn}`.
import * as tf from '@tensorflow/tfjs';
import type { ParamScope, ParamSource } from '../params.js';
import type { ForwardMode } from '../layers/forward-mode.js';
import {
  convModule,
  declareConvModule,
  declareSeparableConvModule,
  separableConvModule,
  type ConvModuleSpec,
  type SeparableConvSpec,
} from './conv-module.js';

type Branch = { kind: 'plain'; spec: ConvModuleSpec } | { kind: 'separable'; spec: SeparableConvSpec };

export class SepAsppFusion {
  private readonly branches: Branch[];
  private readonly bottleneck: ConvModuleSpec;

  constructor(scope: ParamScope, inChannels: number, channels: number, dilations: readonly number[]) {
    const aspp = scope.child('aspp_modules');
    // mmseg's DepthwiseSeparableASPPModule keeps the plain ASPP conv for dilation 1
    // (a 1×1 conv, padding 0) and replaces every dilated one by a separable module.
    this.branches = dilations.map((d, i): Branch => {
      const s = aspp.child(i);
      if (d === 1) return { kind: 'plain', spec: declareConvModule(s, inChannels, channels, 1) };
      return { kind: 'separable', spec: declareSeparableConvModule(s, inChannels, channels, 3, { padding: d, dilation: d }) };
    });
    this.bottleneck = declareConvModule(scope.child('bottleneck'), dilations.length * channels, channels, 3, { padding: 1 });
  }

  forward(p: ParamSource, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return tf.tidy(() => {
      const outs = this.branches.map((b) =>
        b.kind === 'plain' ? convModule(p, b.spec, x, mode) : separableConvModule(p, b.spec, x, mode),
      );
      return convModule(p, this.bottleneck, tf.concat(outs, 3) as tf.Tensor4D, mode);
    });
  }
}
