// Class tables: the 19 Cityscapes training classes (SPEC §5.2), the Cityscapes label-id table,
// and the label-id → trainId mappings of GTA5, Cityscapes and SYNTHIA (SPEC §5.3).

export const IGNORE_INDEX = 255;
export const NUM_CLASSES = 19;

/** trainId → class name (SPEC §5.2). */
export const CLASS_NAMES: readonly string[] = [
  'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
  'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle',
];

/** trainId → palette RGB (SPEC §5.2). */
export const CLASS_PALETTE: readonly (readonly [number, number, number])[] = [
  [128, 64, 128], [244, 35, 232], [70, 70, 70], [102, 102, 156], [190, 153, 153], [153, 153, 153],
  [250, 170, 30], [220, 220, 0], [107, 142, 35], [152, 251, 152], [70, 130, 180], [220, 20, 60],
  [255, 0, 0], [0, 0, 142], [0, 0, 70], [0, 60, 100], [0, 80, 100], [0, 0, 230], [119, 11, 32],
];

export interface CityscapesLabel {
  id: number;
  name: string;
  trainId: number;
  color: readonly [number, number, number];
}

/** cityscapesScripts labels.py, ids 0..33 (license plate, id −1, is never written to label images). */
export const CITYSCAPES_LABELS: readonly CityscapesLabel[] = [
  { id: 0, name: 'unlabeled', trainId: 255, color: [0, 0, 0] },
  { id: 1, name: 'ego vehicle', trainId: 255, color: [0, 0, 0] },
  { id: 2, name: 'rectification border', trainId: 255, color: [0, 0, 0] },
  { id: 3, name: 'out of roi', trainId: 255, color: [0, 0, 0] },
  { id: 4, name: 'static', trainId: 255, color: [0, 0, 0] },
  { id: 5, name: 'dynamic', trainId: 255, color: [111, 74, 0] },
  { id: 6, name: 'ground', trainId: 255, color: [81, 0, 81] },
  { id: 7, name: 'road', trainId: 0, color: [128, 64, 128] },
  { id: 8, name: 'sidewalk', trainId: 1, color: [244, 35, 232] },
  { id: 9, name: 'parking', trainId: 255, color: [250, 170, 160] },
  { id: 10, name: 'rail track', trainId: 255, color: [230, 150, 140] },
  { id: 11, name: 'building', trainId: 2, color: [70, 70, 70] },
  { id: 12, name: 'wall', trainId: 3, color: [102, 102, 156] },
  { id: 13, name: 'fence', trainId: 4, color: [190, 153, 153] },
  { id: 14, name: 'guard rail', trainId: 255, color: [180, 165, 180] },
  { id: 15, name: 'bridge', trainId: 255, color: [150, 100, 100] },
  { id: 16, name: 'tunnel', trainId: 255, color: [150, 120, 90] },
  { id: 17, name: 'pole', trainId: 5, color: [153, 153, 153] },
  { id: 18, name: 'polegroup', trainId: 255, color: [153, 153, 153] },
  { id: 19, name: 'traffic light', trainId: 6, color: [250, 170, 30] },
  { id: 20, name: 'traffic sign', trainId: 7, color: [220, 220, 0] },
  { id: 21, name: 'vegetation', trainId: 8, color: [107, 142, 35] },
  { id: 22, name: 'terrain', trainId: 9, color: [152, 251, 152] },
  { id: 23, name: 'sky', trainId: 10, color: [70, 130, 180] },
  { id: 24, name: 'person', trainId: 11, color: [220, 20, 60] },
  { id: 25, name: 'rider', trainId: 12, color: [255, 0, 0] },
  { id: 26, name: 'car', trainId: 13, color: [0, 0, 142] },
  { id: 27, name: 'truck', trainId: 14, color: [0, 0, 70] },
  { id: 28, name: 'bus', trainId: 15, color: [0, 60, 100] },
  { id: 29, name: 'caravan', trainId: 255, color: [0, 0, 90] },
  { id: 30, name: 'trailer', trainId: 255, color: [0, 0, 110] },
  { id: 31, name: 'train', trainId: 16, color: [0, 80, 100] },
  { id: 32, name: 'motorcycle', trainId: 17, color: [0, 0, 230] },
  { id: 33, name: 'bicycle', trainId: 18, color: [119, 11, 32] },
];

/** Cityscapes labelIds → trainId: every id whose trainId is a training class; all else → 255. */
export const CITYSCAPES_ID_TO_TRAIN: ReadonlyMap<number, number> = new Map(
  CITYSCAPES_LABELS.filter((l) => l.trainId !== IGNORE_INDEX).map((l) => [l.id, l.trainId]),
);

/** GTA5 labels use Cityscapes ids; the original `gta.py` maps exactly the 19 training ids. */
export const GTA_ID_TO_TRAIN: ReadonlyMap<number, number> = CITYSCAPES_ID_TO_TRAIN;

/** SYNTHIA-RAND-CITYSCAPES class id (R channel of GT/LABELS) → trainId (`synthia.py`). */
export const SYNTHIA_ID_TO_TRAIN: ReadonlyMap<number, number> = new Map([
  [3, 0], [4, 1], [2, 2], [21, 3], [5, 4], [7, 5], [15, 6], [9, 7], [6, 8], [16, 9],
  [1, 10], [10, 11], [17, 12], [8, 13], [18, 14], [19, 15], [20, 16], [12, 17], [11, 18],
]);

/** trainId → Cityscapes label id (inverse of CITYSCAPES_ID_TO_TRAIN), used to write labelIds images. */
export const TRAIN_TO_CITYSCAPES_ID: readonly number[] = Array.from({ length: NUM_CLASSES }, (_, t) => {
  const l = CITYSCAPES_LABELS.find((x) => x.trainId === t);
  if (!l) throw new Error(`no Cityscapes id for trainId ${t}`);
  return l.id;
});

/** Lookup table of `size` entries (256 for 8-bit labels, 65536 for 16-bit) defaulting to 255. */
export function lookupTable(map: ReadonlyMap<number, number>, size: 256 | 65536): Uint8Array {
  const lut = new Uint8Array(size).fill(IGNORE_INDEX);
  for (const [from, to] of map) if (from >= 0 && from < size) lut[from] = to;
  return lut;
}

/** Applies a lookup table to a label image (8- or 16-bit samples). */
export function mapLabels(src: Uint8Array | Uint16Array, lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  const last = lut.length - 1;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[i] = v <= last ? lut[v] : IGNORE_INDEX;
  }
  return out;
}

/** 256-entry RGB palette (768 bytes) of the Cityscapes label ids, as GTA5's palette label PNGs carry. */
export function cityscapesIdPalette(): Uint8Array {
  const pal = new Uint8Array(256 * 3);
  for (const l of CITYSCAPES_LABELS) pal.set(l.color, l.id * 3);
  return pal;
}
