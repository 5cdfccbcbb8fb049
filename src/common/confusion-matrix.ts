// Segmentation confusion counts and the mmseg metrics derived from them (intersect_and_union /
// eval_metrics / the nanmean summary). Plain integer arithmetic with no TensorFlow.js, so the
// coordinator can merge the workers' matrices exactly and compute mIoU itself.
// counts[gt·C + pred] = #pixels with that (ground truth, prediction); gt == ignoreIndex is skipped.
// Counts are float64 integers: exact up to 2^53 pixels.

export class ConfusionMatrixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfusionMatrixError';
  }
}

/** Cityscapes trainIds of the 16 classes Synthia has (drops terrain 9, truck 14, train 16). */
export const SYNTHIA16_CLASSES: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18];
/** Synthia-13: additionally drops wall 3, fence 4, pole 5. */
export const SYNTHIA13_CLASSES: readonly number[] = [0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18];

export interface ConfusionMatrixJSON {
  numClasses: number;
  ignoreIndex: number;
  /** Row-major [gt][pred] counts, length numClasses². */
  counts: number[];
}

export interface SegMetrics {
  areaIntersect: number[];
  areaUnion: number[];
  areaPred: number[];
  areaLabel: number[];
  /** Per class I/U; NaN where the union is empty. */
  iou: number[];
  /** Per class I/label; NaN where the class has no ground-truth pixel. */
  acc: number[];
  /** Overall pixel accuracy Σ I / Σ label. */
  aAcc: number;
  /** nanmean(iou) over all classes, as a fraction (0..1). */
  mIoU: number;
  /** round(mIoU·100, 2) as mmseg's summary prints it. */
  mIoUPercent: number;
  /** nanmean over the Synthia-16 / -13 class subsets (fractions). Only meaningful for 19 classes. */
  mIoU16: number;
  mIoU13: number;
}

type LabelArray = Int32Array | Uint8Array | Uint16Array | Int16Array | readonly number[];

export class ConfusionMatrix {
  readonly counts: Float64Array;

  constructor(
    readonly numClasses = 19,
    readonly ignoreIndex = 255,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new ConfusionMatrixError(`numClasses must be a positive integer, got ${numClasses}`);
    if (ignoreIndex >= 0 && ignoreIndex < numClasses) throw new ConfusionMatrixError(`ignoreIndex ${ignoreIndex} collides with a class id (0..${numClasses - 1})`);
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /**
   * Adds one image (or any batch of pixels): pred and gt are flat, equally long label arrays.
   * All pixels are validated before any is counted, so a rejected image leaves the matrix unchanged.
   */
  add(pred: LabelArray, gt: LabelArray, where = 'image'): this {
    if (pred.length !== gt.length) throw new ConfusionMatrixError(`${where}: prediction has ${pred.length} pixels but ground truth has ${gt.length}`);
    const c = this.numClasses;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === this.ignoreIndex) continue;
      const p = pred[i];
      if (!(g >= 0 && g < c && Number.isInteger(g))) {
        throw new ConfusionMatrixError(`${where}: ground-truth label ${g} at pixel ${i} is outside 0..${c - 1} and is not the ignore index ${this.ignoreIndex}`);
      }
      if (!(p >= 0 && p < c && Number.isInteger(p))) throw new ConfusionMatrixError(`${where}: predicted label ${p} at pixel ${i} is outside 0..${c - 1}`);
    }
    const counts = this.counts;
    for (let i = 0; i < gt.length; i++) if (gt[i] !== this.ignoreIndex) counts[gt[i] * c + pred[i]]++;
    return this;
  }

  /** Adds another matrix's counts (e.g. one per worker shard). */
  merge(other: ConfusionMatrix): this {
    if (other.numClasses !== this.numClasses || other.ignoreIndex !== this.ignoreIndex) {
      throw new ConfusionMatrixError(
        `cannot merge a ${other.numClasses}-class matrix (ignore ${other.ignoreIndex}) into a ${this.numClasses}-class one (ignore ${this.ignoreIndex})`,
      );
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  total(): number {
    let s = 0;
    for (const v of this.counts) s += v;
    return s;
  }

  toJSON(): ConfusionMatrixJSON {
    return { numClasses: this.numClasses, ignoreIndex: this.ignoreIndex, counts: Array.from(this.counts) };
  }

  static fromJSON(json: unknown): ConfusionMatrix {
    const j = json as Partial<ConfusionMatrixJSON> | null;
    if (!j || typeof j !== 'object' || typeof j.numClasses !== 'number' || typeof j.ignoreIndex !== 'number' || !Array.isArray(j.counts)) {
      throw new ConfusionMatrixError('confusion matrix JSON must be {numClasses, ignoreIndex, counts[]}');
    }
    const m = new ConfusionMatrix(j.numClasses, j.ignoreIndex);
    if (j.counts.length !== m.counts.length) {
      throw new ConfusionMatrixError(`confusion matrix JSON has ${j.counts.length} counts, expected ${m.counts.length} (${j.numClasses}²)`);
    }
    j.counts.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ConfusionMatrixError(`confusion matrix count ${i} is ${v}, not a non-negative integer`);
      m.counts[i] = v;
    });
    return m;
  }

  /** mmseg's per-class areas and metrics over everything added so far. */
  metrics(): SegMetrics {
    const c = this.numClasses;
    const areaIntersect = new Array<number>(c).fill(0);
    const areaPred = new Array<number>(c).fill(0);
    const areaLabel = new Array<number>(c).fill(0);
    for (let g = 0; g < c; g++) {
      for (let p = 0; p < c; p++) {
        const v = this.counts[g * c + p];
        areaLabel[g] += v;
        areaPred[p] += v;
        if (g === p) areaIntersect[g] += v;
      }
    }
    const areaUnion = areaPred.map((v, k) => v + areaLabel[k] - areaIntersect[k]);
    // 0/0 is NaN in IEEE arithmetic, which is exactly the original's "absent class" marker.
    const iou = areaIntersect.map((v, k) => v / areaUnion[k]);
    const acc = areaIntersect.map((v, k) => v / areaLabel[k]);
    const aAcc = sum(areaIntersect) / sum(areaLabel);
    const mIoU = nanmean(iou);
    return {
      areaIntersect,
      areaUnion,
      areaPred,
      areaLabel,
      iou,
      acc,
      aAcc,
      mIoU,
      mIoUPercent: roundHalfEven(mIoU * 100, 2),
      mIoU16: nanmean(SYNTHIA16_CLASSES.filter((k) => k < c).map((k) => iou[k])),
      mIoU13: nanmean(SYNTHIA13_CLASSES.filter((k) => k < c).map((k) => iou[k])),
    };
  }
}

function sum(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0);
}

/**
 * numpy's float64 sum order (pairwise: 8 interleaved partial sums for blocks ≤ 128, halves above),
 * so a nanmean matches np.nanmean to the last bit rather than to 1 ulp.
 */
function numpySum(v: readonly number[], start = 0, n = v.length): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[start + i];
    return s;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => v[start + k]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let k = 0; k < 8; k++) r[k] += v[start + i + k];
    let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += v[start + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(v, start, half) + numpySum(v, start + half, n - half);
}

/** np.nanmean: NaN-free sum / NaN-free count (NaN if every entry is NaN). */
export function nanmean(v: readonly number[]): number {
  const kept = v.map((x) => (Number.isNaN(x) ? 0 : x));
  const count = v.filter((x) => !Number.isNaN(x)).length;
  return numpySum(kept) / count;
}

/** np.round(x, decimals): scale, round half to even, unscale. */
export function roundHalfEven(x: number, decimals: number): number {
  const f = 10 ** decimals;
  const y = x * f;
  const r = Math.round(y);
  const even = Math.abs(y % 1) === 0.5 ? 2 * Math.round(y / 2) : r;
  return even / f;
}
