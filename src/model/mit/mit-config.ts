// Shape of a Mix Transformer (SegFormer encoder): four stages, each with its own width,
// depth, head count, spatial-reduction ratio and MLP ratio (SPEC §3.1).

export interface MitConfig {
  embedDims: number[];
  depths: number[];
  numHeads: number[];
  srRatios: number[];
  mlpRatios: number[];
  qkvBias: boolean;
  /** Stochastic depth of the LAST block; earlier blocks get linearly less (first gets 0). */
  dropPathRate: number;
  /** Image channels (default 3). */
  inChannels?: number;
}

export class MitConfigError extends Error {
  constructor(message: string) {
    super(`invalid MiT config: ${message}`);
    this.name = 'MitConfigError';
  }
}

const B1_TO_B5_WIDTHS = { embedDims: [64, 128, 320, 512], numHeads: [1, 2, 5, 8] };
const COMMON = { srRatios: [8, 4, 2, 1], mlpRatios: [4, 4, 4, 4], qkvBias: true, dropPathRate: 0.1 };

/** The SegFormer variants (SPEC §3.1 table). */
export const MIT_PRESETS: Record<'b0' | 'b1' | 'b2' | 'b3' | 'b4' | 'b5', MitConfig> = {
  b0: { embedDims: [32, 64, 160, 256], numHeads: [1, 2, 5, 8], depths: [2, 2, 2, 2], ...COMMON },
  b1: { ...B1_TO_B5_WIDTHS, depths: [2, 2, 2, 2], ...COMMON },
  b2: { ...B1_TO_B5_WIDTHS, depths: [3, 4, 6, 3], ...COMMON },
  b3: { ...B1_TO_B5_WIDTHS, depths: [3, 4, 18, 3], ...COMMON },
  b4: { ...B1_TO_B5_WIDTHS, depths: [3, 8, 27, 3], ...COMMON },
  b5: { ...B1_TO_B5_WIDTHS, depths: [3, 6, 40, 3], ...COMMON },
};

/** Throws MitConfigError if the config cannot describe a MiT. */
export function validateMitConfig(cfg: MitConfig): void {
  const lists = { embedDims: cfg.embedDims, depths: cfg.depths, numHeads: cfg.numHeads, srRatios: cfg.srRatios, mlpRatios: cfg.mlpRatios };
  for (const [name, list] of Object.entries(lists)) {
    if (!Array.isArray(list) || list.length !== 4) throw new MitConfigError(`${name} must list 4 stages, got ${JSON.stringify(list)}`);
    // mlp ratios may be fractional (the hidden width only has to come out whole).
    const ok = name === 'mlpRatios' ? list.every((v) => v > 0) : list.every((v) => Number.isInteger(v) && v >= 1);
    if (!ok) throw new MitConfigError(`${name} must hold positive ${name === 'mlpRatios' ? 'numbers' : 'integers'}, got ${JSON.stringify(list)}`);
  }
  cfg.embedDims.forEach((c, i) => {
    if (c % cfg.numHeads[i] !== 0) {
      throw new MitConfigError(`stage ${i + 1}: embed dim ${c} is not a multiple of ${cfg.numHeads[i]} heads`);
    }
    if (!Number.isInteger(cfg.embedDims[i] * cfg.mlpRatios[i])) {
      throw new MitConfigError(`stage ${i + 1}: hidden width ${cfg.embedDims[i]}×${cfg.mlpRatios[i]} is not an integer`);
    }
  });
  if (!(cfg.dropPathRate >= 0 && cfg.dropPathRate < 1)) throw new MitConfigError(`dropPathRate must be in [0,1), got ${cfg.dropPathRate}`);
}

/**
 * DropPath probability of every block, stage by stage: torch.linspace(0, rate, Σdepths),
 * so block k of K gets rate·k/(K−1) (one block alone gets 0, as linspace(0, r, 1) = [0]).
 */
export function dropPathSchedule(cfg: MitConfig): number[][] {
  const total = cfg.depths.reduce((a, b) => a + b, 0);
  let k = 0;
  return cfg.depths.map((d) =>
    Array.from({ length: d }, () => {
      const p = total > 1 ? (cfg.dropPathRate * k) / (total - 1) : 0;
      k++;
      return p;
    }),
  );
}

/**
 * Builds a MitConfig from the mmseg `backbone` config dict (snake_case keys, as in the
 * golden manifests): embed_dims, depths, num_heads, sr_ratios, mlp_ratios (list or one
 * number), qkv_bias, drop_path_rate, in_chans/in_channels.
 */
export function mitConfigFromMmseg(d: Record<string, unknown>): MitConfig {
  const list = (key: string): number[] => {
    const v = d[key];
    if (!Array.isArray(v)) throw new MitConfigError(`backbone.${key} must be a list, got ${JSON.stringify(v)}`);
    return v.map(Number);
  };
  const mlp = d.mlp_ratios;
  const cfg: MitConfig = {
    embedDims: list('embed_dims'),
    depths: list('depths'),
    numHeads: list('num_heads'),
    srRatios: list('sr_ratios'),
    mlpRatios: typeof mlp === 'number' ? [mlp, mlp, mlp, mlp] : list('mlp_ratios'),
    qkvBias: d.qkv_bias === undefined ? false : Boolean(d.qkv_bias),
    dropPathRate: d.drop_path_rate === undefined ? 0 : Number(d.drop_path_rate),
    inChannels: Number(d.in_chans ?? d.in_channels ?? 3),
  };
  validateMitConfig(cfg);
  return cfg;
}
