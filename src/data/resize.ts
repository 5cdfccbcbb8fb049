// Image/label resizing with OpenCV semantics, as mmcv's imrescale uses (cv2.resize, SPEC §4.3).
// Every output pixel depends only on its own coordinates, so the functions take an output window:
// resizing only the training crop gives exactly the pixels a full resize followed by a crop would.
//
// Bilinear (cv2.INTER_LINEAR, 8-bit): per-axis source index and weights in float32, weights as
// 11-bit fixed point rounded half-to-even; a horizontal pass in integers, then the vertical pass
// ((h0>>4)·b0 >> 16) + ((h1>>4)·b1 >> 16), +2 >> 2, saturated — OpenCV's SIMD path. Checked bit for
// bit against cv2.resize of OpenCV 4.6 (x86-64) on GTA/Synthia sizes and odd sizes
// (test/unit/data/fixtures/cv2-resize.json).
// Nearest (cv2.INTER_NEAREST): src = min(floor(dst · src/dst), src−1), in doubles.

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** mmcv.rescale_size with keep_ratio: factor = min(long/longEdge, short/shortEdge), size = int(dim·f + 0.5). */
export function keepRatioSize(width: number, height: number, scale: readonly [number, number]): [number, number] {
  const maxLong = Math.max(scale[0], scale[1]);
  const maxShort = Math.min(scale[0], scale[1]);
  const factor = Math.min(maxLong / Math.max(width, height), maxShort / Math.min(width, height));
  return [Math.trunc(width * factor + 0.5), Math.trunc(height * factor + 0.5)];
}

/** Per-output-index source offsets and 11-bit weights along one axis. */
export interface LinearAxis {
  i0: Int32Array;
  i1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

/** cvRound on a non-negative float: round half to even (saturate_cast<short>). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * OpenCV's linear tables for dst indices [from, from+count): x = (float)((d+0.5)·scale − 0.5),
 * s = floor(x), f = x − s. Horizontally (clampEdges) s < 0 or s ≥ n−1 set f = 0; vertically the
 * two source rows are clamped into range but the weights are kept (OpenCV's row fetch).
 */
export function linearAxis(srcLen: number, dstLen: number, from: number, count: number, clampEdges: boolean): LinearAxis {
  const scale = 1 / (dstLen / srcLen);
  const ax: LinearAxis = { i0: new Int32Array(count), i1: new Int32Array(count), w0: new Int32Array(count), w1: new Int32Array(count) };
  for (let k = 0; k < count; k++) {
    const d = from + k;
    const x = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(x);
    let f = Math.fround(x - s);
    if (clampEdges) {
      if (s < 0) {
        f = 0;
        s = 0;
      }
      if (s >= srcLen - 1) {
        f = 0;
        s = srcLen - 1;
      }
    }
    ax.i0[k] = Math.min(Math.max(s, 0), srcLen - 1);
    ax.i1[k] = Math.min(Math.max(s + 1, 0), srcLen - 1);
    ax.w0[k] = roundHalfEven(Math.fround(1 - f) * COEF_SCALE);
    ax.w1[k] = roundHalfEven(f * COEF_SCALE);
  }
  return ax;
}

export interface Window {
  /** First output row/column and the window size in output pixels. */
  y: number;
  x: number;
  height: number;
  width: number;
}

/**
 * cv2.resize(INTER_LINEAR) of an 8-bit interleaved image (cn channels) from sw×sh to dw×dh,
 * returning only the output window (height × width × cn). Identity sizes copy, as OpenCV does.
 */
export function resizeBilinearWindow(
  src: Uint8Array, sw: number, sh: number, cn: number, dw: number, dh: number, win: Window,
): Uint8Array {
  const out = new Uint8Array(win.height * win.width * cn);
  if (sw === dw && sh === dh) {
    for (let y = 0; y < win.height; y++) {
      const s = ((win.y + y) * sw + win.x) * cn;
      out.set(src.subarray(s, s + win.width * cn), y * win.width * cn);
    }
    return out;
  }
  const xa = linearAxis(sw, dw, win.x, win.width, true);
  const ya = linearAxis(sh, dh, win.y, win.height, false);
  const rowLen = win.width * cn;
  // Horizontal pass results for two source rows, reused while consecutive output rows share them.
  const cache = [new Int32Array(rowLen), new Int32Array(rowLen)];
  const cachedRow = [-1, -1];
  const hrow = (sy: number): Int32Array => {
    const slot = cachedRow[0] === sy ? 0 : cachedRow[1] === sy ? 1 : -1;
    if (slot >= 0) return cache[slot];
    // Evict the slot not holding the row we may still need (rows advance monotonically).
    const victim = cachedRow[0] < cachedRow[1] ? 0 : 1;
    const buf = cache[victim];
    cachedRow[victim] = sy;
    const base = sy * sw * cn;
    const { i0, i1, w0, w1 } = xa;
    if (cn === 3) {
      for (let x = 0, o = 0; x < win.width; x++, o += 3) {
        const p0 = base + i0[x] * 3, p1 = base + i1[x] * 3, a0 = w0[x], a1 = w1[x];
        buf[o] = src[p0] * a0 + src[p1] * a1;
        buf[o + 1] = src[p0 + 1] * a0 + src[p1 + 1] * a1;
        buf[o + 2] = src[p0 + 2] * a0 + src[p1 + 2] * a1;
      }
    } else {
      for (let x = 0; x < win.width; x++) {
        const p0 = base + i0[x] * cn, p1 = base + i1[x] * cn, a0 = w0[x], a1 = w1[x];
        for (let c = 0; c < cn; c++) buf[x * cn + c] = src[p0 + c] * a0 + src[p1 + c] * a1;
      }
    }
    return buf;
  };
  for (let y = 0; y < win.height; y++) {
    const r0 = hrow(ya.i0[y]);
    const r1 = ya.i1[y] === ya.i0[y] ? r0 : hrow(ya.i1[y]);
    const b0 = ya.w0[y], b1 = ya.w1[y];
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = (((r0[i] >> 4) * b0) >> 16) + (((r1[i] >> 4) * b1) >> 16);
      const q = (v + 2) >> 2;
      out[o + i] = q < 0 ? 0 : q > 255 ? 255 : q;
    }
  }
  return out;
}

/** Source indices of cv2 INTER_NEAREST for dst indices [from, from+count). */
export function nearestAxis(srcLen: number, dstLen: number, from: number, count: number): Int32Array {
  const inv = 1 / (dstLen / srcLen);
  const out = new Int32Array(count);
  for (let k = 0; k < count; k++) out[k] = Math.min(Math.floor((from + k) * inv), srcLen - 1);
  return out;
}

/** cv2.resize(INTER_NEAREST) of a single-channel 8-bit map, output window only. */
export function resizeNearestWindow(src: Uint8Array, sw: number, sh: number, dw: number, dh: number, win: Window): Uint8Array {
  const xs = nearestAxis(sw, dw, win.x, win.width);
  const ys = nearestAxis(sh, dh, win.y, win.height);
  const out = new Uint8Array(win.height * win.width);
  for (let y = 0; y < win.height; y++) {
    const base = ys[y] * sw, o = y * win.width;
    for (let x = 0; x < win.width; x++) out[o + x] = src[base + xs[x]];
  }
  return out;
}
