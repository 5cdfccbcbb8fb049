// The non-differentiable half of PiPa's pixel-wise contrast (SPEC §1.6): label
// preparation and "hard anchor sampling" (ContrastiveSeg). Pure JS on Int32Arrays, so
// it runs outside the gradient closure and every random draw is injectable: either an
// Rng or the permutations the original recorded (torch.randperm, in call order).

/** Detail-crop box in full-resolution label coordinates, HRDA order (y1, y2, x1, x2). */
export interface LabelCropBox {
  y1: number;
  y2: number;
  x1: number;
  x2: number;
}

/**
 * 'code-exact': the full label map is nearest-resized to the embedding grid (spatially
 * misaligned with the detail-crop embedding, as in the original).
 * 'detail-crop': the label map is first cropped to the detail crop box (the fix).
 */
export type ContrastLabelMode = { kind: 'code-exact' } | { kind: 'detail-crop'; box: LabelCropBox };

export class ContrastInputError extends Error {
  override name = 'ContrastInputError';
}

/**
 * PyTorch F.interpolate(mode='nearest', size=out) source index. The scale is a float32
 * (in/out) and the product is taken in float32 (ATen nearest_idx), which differs from
 * double arithmetic for some non-integer ratios; out == in and out == 2·in are special-cased.
 */
export function torchNearestSource(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    if (outSize === inSize) idx[d] = d;
    else if (outSize === 2 * inSize) idx[d] = d >> 1;
    else idx[d] = Math.min(Math.floor(Math.fround(d * scale)), inSize - 1);
  }
  return idx;
}

/**
 * Labels [B,H,W] (full resolution) → [B,h,w] on the embedding grid.
 * @param shape [B, H, W] of `labels`; @param grid [h, w] of the embedding.
 */
export function prepareContrastLabels(
  labels: Int32Array,
  shape: readonly [number, number, number],
  grid: readonly [number, number],
  mode: ContrastLabelMode = { kind: 'code-exact' },
): Int32Array {
  const [B, H, W] = shape;
  const [h, w] = grid;
  if (labels.length !== B * H * W) {
    throw new ContrastInputError(`labels have ${labels.length} values but shape [${shape}] needs ${B * H * W}`);
  }
  let y0 = 0;
  let x0 = 0;
  let rh = H;
  let rw = W;
  if (mode.kind === 'detail-crop') {
    const b = mode.box;
    if (!(b.y1 >= 0 && b.x1 >= 0 && b.y2 <= H && b.x2 <= W && b.y2 > b.y1 && b.x2 > b.x1)) {
      throw new ContrastInputError(`detail crop box (y ${b.y1}..${b.y2}, x ${b.x1}..${b.x2}) is not inside the ${H}x${W} label map`);
    }
    [y0, x0, rh, rw] = [b.y1, b.x1, b.y2 - b.y1, b.x2 - b.x1];
  }
  const rows = torchNearestSource(rh, h);
  const cols = torchNearestSource(rw, w);
  const out = new Int32Array(B * h * w);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < h; i++) {
      const src = b * H * W + (y0 + rows[i]) * W + x0;
      const dst = (b * h + i) * w;
      for (let j = 0; j < w; j++) out[dst + j] = labels[src + cols[j]];
    }
  }
  return out;
}

export interface AnchorSamplingOptions {
  /** Total anchor budget (1024). */
  maxSamples: number;
  /** Per-class cap on views and the minimum pixel count (strictly more) for a class (100). */
  maxViews: number;
  /** Labels that are never a class. Code-exact: [-1] only, so 255 IS a class. */
  ignoreLabels: readonly number[];
}

export const CODE_EXACT_SAMPLING: AnchorSamplingOptions = { maxSamples: 1024, maxViews: 100, ignoreLabels: [-1] };
/** The recommended fix: 255 (mmseg ignore) is not a class either. */
export const FIXED_SAMPLING: AnchorSamplingOptions = { maxSamples: 1024, maxViews: 100, ignoreLabels: [-1, 255] };

/** Where the random subsets come from. An Rng satisfies this interface. */
export interface PermutationSource {
  permutation(n: number): ArrayLike<number>;
}

export class PermutationReplayError extends Error {
  override name = 'PermutationReplayError';
}

/** Replays recorded torch.randperm outputs in call order; refuses a wrong length. */
export function replayPermutations(recorded: ReadonlyArray<ArrayLike<number>>): PermutationSource & { remaining(): number } {
  let next = 0;
  return {
    permutation(n: number): ArrayLike<number> {
      if (next >= recorded.length) {
        throw new PermutationReplayError(`permutation #${next} of length ${n} requested but only ${recorded.length} were recorded`);
      }
      const p = recorded[next];
      if (p.length !== n) {
        throw new PermutationReplayError(`recorded permutation #${next} has length ${p.length} but the sampler needs ${n}`);
      }
      next++;
      return p;
    },
    remaining: () => recorded.length - next,
  };
}

export interface AnchorSample {
  /** K = number of (image, class) pairs that were sampled. */
  numAnchors: number;
  /** Views per anchor: min(floor(maxSamples / K), maxViews). */
  viewsPerAnchor: number;
  /** K·nView indices into the h·w grid of image imageOfAnchor[k]; anchor k view v at k·nView + v. */
  flatIndex: Int32Array;
  imageOfAnchor: Int32Array;
  classOfAnchor: Int32Array;
}

/** Ascending classes of one image with more than maxViews pixels, ignoring ignoreLabels. */
function qualifyingClasses(labels: Int32Array, start: number, n: number, o: AnchorSamplingOptions): number[] {
  const counts = new Map<number, number>();
  for (let p = start; p < start + n; p++) counts.set(labels[p], (counts.get(labels[p]) ?? 0) + 1);
  return [...counts.entries()]
    .filter(([c, k]) => !o.ignoreLabels.includes(c) && k > o.maxViews)
    .map(([c]) => c)
    .sort((a, b) => a - b);
}

/** How many hard / easy views to keep (the three reachable branches of the original). */
function keepCounts(numHard: number, numEasy: number, nView: number): [number, number] {
  const half = nView / 2;
  if (numHard >= half && numEasy >= half) {
    const hard = Math.floor(nView / 2);
    return [hard, nView - hard];
  }
  if (numHard >= half) return [nView - numEasy, numEasy];
  if (numEasy >= half) return [numHard, nView - numHard];
  // Unreachable: a class has > maxViews ≥ nView pixels in total.
  throw new ContrastInputError(`anchor sampling: ${numHard} hard + ${numEasy} easy pixels cannot give ${nView} views`);
}

/**
 * Hard/easy anchor sampling. `labels` (already on the embedding grid) decide the classes;
 * hard = {label = c, predict ≠ c}, easy = {label = c, predict = c}. Order of draws: image,
 * class ascending, a permutation of the hard set then one of the easy set.
 */
export function sampleAnchors(
  labels: Int32Array,
  predict: Int32Array,
  batch: number,
  pixels: number,
  perms: PermutationSource,
  o: AnchorSamplingOptions = CODE_EXACT_SAMPLING,
): AnchorSample {
  if (labels.length !== batch * pixels || predict.length !== batch * pixels) {
    throw new ContrastInputError(
      `anchor sampling needs ${batch}x${pixels} labels and predictions, got ${labels.length} and ${predict.length}`,
    );
  }
  const classes = Array.from({ length: batch }, (_, b) => qualifyingClasses(labels, b * pixels, pixels, o));
  const K = classes.reduce((s, c) => s + c.length, 0);
  const nView = K === 0 ? 0 : Math.min(Math.floor(o.maxSamples / K), o.maxViews);
  const flatIndex = new Int32Array(K * nView);
  const imageOfAnchor = new Int32Array(K);
  const classOfAnchor = new Int32Array(K);
  let k = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * pixels;
    for (const c of classes[b]) {
      const hard: number[] = [];
      const easy: number[] = [];
      for (let p = 0; p < pixels; p++) {
        if (labels[base + p] !== c) continue;
        (predict[base + p] === c ? easy : hard).push(p);
      }
      const [keepHard, keepEasy] = keepCounts(hard.length, easy.length, nView);
      const permHard = perms.permutation(hard.length);
      const permEasy = perms.permutation(easy.length);
      let v = k * nView;
      for (let i = 0; i < keepHard; i++) flatIndex[v++] = hard[permHard[i]];
      for (let i = 0; i < keepEasy; i++) flatIndex[v++] = easy[permEasy[i]];
      imageOfAnchor[k] = b;
      classOfAnchor[k] = c;
      k++;
    }
  }
  return { numAnchors: K, viewsPerAnchor: nView, flatIndex, imageOfAnchor, classOfAnchor };
}
