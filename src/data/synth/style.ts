// Appearance styles of the synthetic domains. A style is a '+'-joined list of named atoms, each with
// an optional strength ("palette:0.5+noise:12+blur:2"); presets expand to atom lists and later atoms
// override earlier ones, so "city+blur:0" is the city look without blur. The shift between two
// styles is dialled by how many atoms differ and how strongly (palette 0 → 1 moves every class
// colour from palette A to the unrelated palette B).
import { SynthStyleError } from '../errors.js';
import { CITYSCAPES_LABELS } from '../labels.js';

export interface SynthStyle {
  /** 0 = palette A (Cityscapes label colours), 1 = palette B; in between blends. */
  palette: number;
  /** Per-class texture amplitude (windows, foliage, asphalt grain, sky gradient). */
  texture: number;
  /** Per-object colour jitter (grey levels). */
  jitter: number;
  /** Per-pixel noise (grey levels, ~σ). */
  noise: number;
  /** Box-blur radius in pixels (two passes). */
  blur: number;
  /** Output = 255·(x/255)^gamma. */
  gamma: number;
  /** Global brightness multiplier. */
  brightness: number;
  /** Per-image random brightness range ± illum. */
  illum: number;
  /** Contrast around mid-grey. */
  contrast: number;
  /** Per-channel multipliers. */
  tint: [number, number, number];
  /** Depth haze amount (0..1). */
  fog: number;
}

export const PLAIN_STYLE: SynthStyle = {
  palette: 0, texture: 0, jitter: 0, noise: 0, blur: 0, gamma: 1, brightness: 1, illum: 0, contrast: 1, tint: [1, 1, 1], fog: 0,
};

type Atom = { default: number; apply: (s: SynthStyle, v: number) => void };

const ATOMS: Record<string, Atom> = {
  palette: { default: 1, apply: (s, v) => (s.palette = v) },
  texture: { default: 1, apply: (s, v) => (s.texture = v) },
  jitter: { default: 20, apply: (s, v) => (s.jitter = v) },
  noise: { default: 8, apply: (s, v) => (s.noise = v) },
  blur: { default: 1, apply: (s, v) => (s.blur = v) },
  gamma: { default: 1.4, apply: (s, v) => (s.gamma = v) },
  dark: { default: 0.7, apply: (s, v) => (s.brightness = v) },
  bright: { default: 1.3, apply: (s, v) => (s.brightness = v) },
  illum: { default: 0.2, apply: (s, v) => (s.illum = v) },
  contrast: { default: 0.8, apply: (s, v) => (s.contrast = v) },
  warm: { default: 1, apply: (s, v) => (s.tint = [1 + 0.12 * v, 1, 1 - 0.12 * v]) },
  cool: { default: 1, apply: (s, v) => (s.tint = [1 - 0.12 * v, 1, 1 + 0.12 * v]) },
  fog: { default: 0.35, apply: (s, v) => (s.fog = v) },
};

/** Named presets: the default source ("game": vivid, clean) and target ("city": other palette, camera-like). */
export const STYLE_PRESETS: Record<string, string> = {
  plain: '',
  game: 'palette:0+texture+jitter:20+illum:0.1',
  city: 'palette:0.75+texture:0.6+jitter:12+illum:0.2+noise:6+blur:1+gamma:1.3+cool:0.5',
};

export const STYLE_ATOMS = Object.keys(ATOMS);

export function parseStyle(spec: string): SynthStyle {
  const style: SynthStyle = { ...PLAIN_STYLE, tint: [1, 1, 1] };
  const apply = (text: string, depth: number) => {
    for (const raw of text.split('+')) {
      const part = raw.trim();
      if (!part) continue;
      const [name, value, extra] = part.split(':');
      if (name in STYLE_PRESETS && value === undefined) {
        if (depth > 4) throw new SynthStyleError(`style preset '${name}' nests too deeply`);
        apply(STYLE_PRESETS[name], depth + 1);
        continue;
      }
      const atom = ATOMS[name];
      if (!atom || extra !== undefined) {
        throw new SynthStyleError(`unknown style part '${part}' in '${spec}': use presets (${Object.keys(STYLE_PRESETS).join(', ')}) or atoms name[:value] (${STYLE_ATOMS.join(', ')}), joined with '+'`);
      }
      const v = value === undefined ? atom.default : Number(value);
      if (!Number.isFinite(v) || v < 0) throw new SynthStyleError(`style atom '${name}' needs a non-negative number, got '${value}' in '${spec}'`);
      atom.apply(style, v);
    }
  };
  apply(spec, 0);
  return style;
}

/** Palette A: the Cityscapes label colours, indexed by label id. */
export const PALETTE_A: Uint8Array = (() => {
  const p = new Uint8Array(256 * 3);
  for (const l of CITYSCAPES_LABELS) p.set(l.color, l.id * 3);
  return p;
})();

/**
 * Palette B: plausible "real-world" colours chosen so that no class keeps its palette-A colour and
 * several classes take colours close to a different class's palette-A colour.
 */
export const PALETTE_B: Uint8Array = (() => {
  const p = PALETTE_A.slice();
  const b: Record<number, [number, number, number]> = {
    4: [90, 80, 70], 7: [88, 90, 96], 8: [178, 168, 150], 9: [120, 118, 110], 11: [150, 104, 84], 12: [118, 136, 110],
    13: [96, 74, 56], 17: [62, 62, 70], 19: [40, 44, 40], 20: [40, 96, 200], 21: [44, 96, 52], 22: [140, 122, 72],
    23: [206, 214, 224], 24: [70, 44, 124], 25: [204, 124, 34], 26: [176, 36, 36], 27: [222, 222, 212], 28: [232, 182, 10],
    31: [150, 152, 162], 32: [24, 24, 24], 33: [12, 124, 112],
  };
  for (const [id, rgb] of Object.entries(b)) p.set(rgb, Number(id) * 3);
  return p;
})();
