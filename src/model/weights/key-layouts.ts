// Key layouts of the checkpoints pipa meets, all under their original PyTorch names:
//  - segmentor: mmseg EncoderDecoder keys ('backbone.*', 'decode_head.*', PiPa's heads);
//  - uda: the released PiPa/HRDA DACS wrapper ('model.' student, 'ema_model.' teacher,
//    'imnet_model.' FD reference net, plus PiPa's 'project.*' / 'classifier.*');
//  - mit-imagenet: SegFormer's ImageNet mit_b*.pth (backbone keys without 'backbone.',
//    plus a 'head.*' ImageNet classifier pipa does not use).
import type { StateDict } from './tensor-record.js';

export type WeightsLayout = 'segmentor' | 'uda' | 'mit-imagenet' | 'raw';

export const UDA_PREFIXES = { student: 'model.', teacher: 'ema_model.', imnet: 'imnet_model.' } as const;
const MODULE_PREFIX = 'module.';
const BACKBONE_PREFIX = 'backbone.';
const MIT_CLASSIFIER_PREFIX = 'head.';

/** Drops the 'module.' that DataParallel/DistributedDataParallel put in front of every key. */
export function stripModulePrefix(sd: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of sd) out.set(k.startsWith(MODULE_PREFIX) ? k.slice(MODULE_PREFIX.length) : k, v);
  return out;
}

export function detectLayout(sd: StateDict): WeightsLayout {
  const keys = [...stripModulePrefix(sd).keys()];
  const udaPrefixes = Object.values(UDA_PREFIXES);
  if (keys.some((k) => udaPrefixes.some((p) => k.startsWith(p)))) return 'uda';
  if (keys.some((k) => k.startsWith(BACKBONE_PREFIX))) return 'segmentor';
  if (keys.some((k) => /^patch_embed\d+\./.test(k)) && keys.some((k) => /^block\d+\./.test(k))) return 'mit-imagenet';
  return 'raw';
}

export interface UdaParts {
  /** 'model.*' with the prefix removed: the trained student segmentor. */
  student: StateDict;
  /** 'ema_model.*' with the prefix removed: the EMA teacher. */
  teacher: StateDict;
  /** 'imnet_model.*' with the prefix removed: the frozen ImageNet feature-distance net. */
  imnet: StateDict;
  /** Everything else under its own name: PiPa's 'project.*' and 'classifier.*'. */
  extra: StateDict;
}

/** Splits a UDA-wrapper state dict by prefix (after stripping a leading 'module.'). */
export function splitUdaStateDict(sd: StateDict): UdaParts {
  const parts: UdaParts = { student: new Map(), teacher: new Map(), imnet: new Map(), extra: new Map() };
  for (const [key, rec] of stripModulePrefix(sd)) {
    if (key.startsWith(UDA_PREFIXES.student)) parts.student.set(key.slice(UDA_PREFIXES.student.length), rec);
    else if (key.startsWith(UDA_PREFIXES.teacher)) parts.teacher.set(key.slice(UDA_PREFIXES.teacher.length), rec);
    else if (key.startsWith(UDA_PREFIXES.imnet)) parts.imnet.set(key.slice(UDA_PREFIXES.imnet.length), rec);
    else parts.extra.set(key, rec);
  }
  return parts;
}

export interface MitImagenetMapping {
  /** The ImageNet tensors renamed to 'backbone.*'. */
  stateDict: StateDict;
  /** Model backbone keys the file lacks. */
  missing: string[];
  /** Renamed file keys the model's backbone does not have. */
  unexpected: string[];
  /** 'head.*' ImageNet classifier keys, dropped. */
  ignored: string[];
}

/**
 * Maps SegFormer ImageNet weights (mit_b*.pth) onto 'backbone.*'. `modelKeys` are the full
 * model's keys (e.g. store.names()); only those under 'backbone.' count as expected.
 */
export function mapMitImagenetKeys(sd: StateDict, modelKeys: Iterable<string>): MitImagenetMapping {
  const expected = new Set([...modelKeys].filter((k) => k.startsWith(BACKBONE_PREFIX)));
  const out: StateDict = new Map();
  const ignored: string[] = [];
  for (const [key, rec] of stripModulePrefix(sd)) {
    if (key.startsWith(MIT_CLASSIFIER_PREFIX)) {
      ignored.push(key);
      continue;
    }
    out.set(key.startsWith(BACKBONE_PREFIX) ? key : BACKBONE_PREFIX + key, rec);
  }
  const missing = [...expected].filter((k) => !out.has(k));
  const unexpected = [...out.keys()].filter((k) => !expected.has(k));
  return { stateDict: out, missing, unexpected, ignored };
}
