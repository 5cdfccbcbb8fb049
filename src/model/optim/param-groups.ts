// Per-parameter learning-rate and weight-decay multipliers, as mmcv 1.3.7's
// DefaultOptimizerConstructor derives them from `paramwise_cfg.custom_keys`
// (SPEC §4.1). PiPa/HRDA use custom_keys = {head: lr×10, pos_block: wd×0, norm: wd×0}.
//
// mmcv's rule: every key is tested as a SUBSTRING of the full parameter name; keys
// are tried longest first, ties in alphabetical order (`sorted(sorted(keys), key=len,
// reverse=True)`); the first key that matches decides both multipliers (missing
// multipliers default to 1) and no other rule is looked at. A name that matches no
// key gets lr×1, wd×1.

export interface ParamGroupMults {
  lrMult: number;
  decayMult: number;
}

export interface CustomKeyRule {
  lrMult?: number;
  decayMult?: number;
}

/** The custom keys of PiPa's config (`configs/pipa/gtaHR2csHR_hrda.py`). */
export const PIPA_CUSTOM_KEYS: Readonly<Record<string, CustomKeyRule>> = Object.freeze({
  head: { lrMult: 10 },
  pos_block: { decayMult: 0 },
  norm: { decayMult: 0 },
});

/** Keys in the order mmcv tries them: longest first, then alphabetical. */
export function mmcvKeyOrder(keys: readonly string[]): string[] {
  const alphabetical = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Array.prototype.sort is stable (ES2019), like Python's sorted.
  return alphabetical.sort((a, b) => b.length - a.length);
}

/** Builds name → multipliers for a set of custom keys (memoised per name). */
export function makeParamGroupRule(customKeys: Readonly<Record<string, CustomKeyRule>>): (name: string) => ParamGroupMults {
  const order = mmcvKeyOrder(Object.keys(customKeys));
  const cache = new Map<string, ParamGroupMults>();
  return (name: string): ParamGroupMults => {
    let hit = cache.get(name);
    if (hit) return hit;
    hit = { lrMult: 1, decayMult: 1 };
    for (const key of order) {
      if (name.includes(key)) {
        const rule = customKeys[key];
        hit = { lrMult: rule.lrMult ?? 1, decayMult: rule.decayMult ?? 1 };
        break;
      }
    }
    cache.set(name, hit);
    return hit;
  };
}

/** PiPa's rule: `head` → lr×10 (wd kept), `pos_block`/`norm` → wd×0, else plain. */
export const paramGroupFor: (name: string) => ParamGroupMults = makeParamGroupRule(PIPA_CUSTOM_KEYS);
