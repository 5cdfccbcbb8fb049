// Renders a scene's label map as an RGB photo in a given style: per-class base colours (palette
// A/B blend), per-object jitter, per-class textures, lighting, tint, contrast, haze, gamma, optical
// blur and sensor noise. All randomness comes from the caller's Rng.
import type { Rng } from '../../common/random.js';
import { ID, type Scene } from './scene.js';
import { PALETTE_A, PALETTE_B, type SynthStyle } from './style.js';

/** Integer hash → [0, 1): stable per (instance, channel, image salt). */
function hash01(a: number, b: number, salt: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ salt;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

/** Smooth random field in [−1, 1]: a (g+1)×(g+1) random lattice, bilinearly interpolated. */
function valueNoise(rng: Rng, W: number, H: number, cells: number): Float32Array {
  const g = cells + 1;
  const lattice = new Float32Array(g * g);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.uniform(-1, 1);
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const fy = (y / H) * cells, iy = Math.min(cells - 1, Math.floor(fy)), ty = fy - iy;
    for (let x = 0; x < W; x++) {
      const fx = (x / W) * cells, ix = Math.min(cells - 1, Math.floor(fx)), tx = fx - ix;
      const a = lattice[iy * g + ix], b = lattice[iy * g + ix + 1], c = lattice[(iy + 1) * g + ix], d = lattice[(iy + 1) * g + ix + 1];
      out[y * W + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

/** One blur pass along rows (step 3: x) or columns (step 3·W: y) with edge clamping. */
function blurPass(src: Float32Array, dst: Float32Array, W: number, H: number, k: Float32Array, R: number, alongX: boolean): void {
  const n = alongX ? W : H, lines = alongX ? H : W;
  const line = new Float32Array((n + 2 * R) * 3);
  for (let l = 0; l < lines; l++) {
    const base = alongX ? l * W * 3 : l * 3, step = alongX ? 3 : W * 3;
    for (let i = -R; i < n + R; i++) {
      const s = base + Math.min(n - 1, Math.max(0, i)) * step, o = (i + R) * 3;
      line[o] = src[s];
      line[o + 1] = src[s + 1];
      line[o + 2] = src[s + 2];
    }
    for (let i = 0; i < n; i++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0, o = i * 3; j <= 2 * R; j++, o += 3) {
        const w = k[j];
        r += w * line[o];
        g += w * line[o + 1];
        b += w * line[o + 2];
      }
      const d = base + i * step;
      dst[d] = r;
      dst[d + 1] = g;
      dst[d + 2] = b;
    }
  }
}

/** Separable Gaussian blur (σ = sigma) of an interleaved float RGB image, edges clamped. */
function gaussianBlur(img: Float32Array, W: number, H: number, sigma: number): Float32Array {
  const R = Math.max(1, Math.ceil(2 * sigma));
  const k = Float32Array.from({ length: 2 * R + 1 }, (_, i) => Math.exp(-((i - R) ** 2) / (2 * sigma * sigma)));
  const z = k.reduce((s, v) => s + v, 0);
  for (let i = 0; i < k.length; i++) k[i] /= z;
  const tmp = new Float32Array(img.length), out = new Float32Array(img.length);
  blurPass(img, tmp, W, H, k, R, true);
  blurPass(tmp, out, W, H, k, R, false);
  return out;
}

export function renderScene(scene: Scene, style: SynthStyle, rng: Rng): Uint8Array {
  const { width: W, height: H, ids, instance, horizon: hy } = scene;
  const salt = rng.nextU32() | 0;
  const coarse = valueNoise(rng, W, H, 4);
  const fine = valueNoise(rng, W, H, Math.max(8, Math.round(W / 8)));
  const light = style.brightness * (1 + style.illum * rng.uniform(-1, 1));
  const tex = style.texture;
  const pal = new Float32Array(256 * 3);
  for (let i = 0; i < pal.length; i++) pal[i] = PALETTE_A[i] * (1 - style.palette) + PALETTE_B[i] * style.palette;
  const win = Math.max(4, Math.round(W / 24));
  let maxInst = 0;
  for (let i = 0; i < instance.length; i++) if (instance[i] > maxInst) maxInst = instance[i];
  const jitter = new Float32Array((maxInst + 1) * 3);
  for (let i = 0; i < jitter.length; i++) jitter[i] = style.jitter * (2 * hash01(i / 3 | 0, i % 3, salt) - 1);
  const img = new Float32Array(W * H * 3);
  // Hoisted constants: this loop runs once per pixel.
  const { building, vegetation, terrain, road, sidewalk, sky } = ID;
  const contrast = style.contrast, fog = style.fog;
  const m0 = light * style.tint[0], m1 = light * style.tint[1], m2 = light * style.tint[2];
  const winY = Math.round(win * 1.3), laneW = 0.01 * W;
  for (let y = 0; y < H; y++) {
    const t = y < hy ? 0 : (y - hy) / (H - hy);
    const far = y < hy ? 1 : 1 - t;
    const fogMul = 1 - fog * far, fogAdd = 200 * fog * far + 128 * (1 - contrast) * fogMul;
    const cm = contrast * fogMul;
    const laneX = scene.vanishX + (scene.roadCentreBottom - scene.vanishX) * t;
    const laneHalf = 0.5 + laneW * t;
    const dash = (3 / (t + 0.05)) % 1 < 0.5;
    const skyShade = (y / Math.max(1, hy)) * 40 * tex;
    const windowRow = y % winY < win * 0.7;
    const tile = (y >> 3) & 1;
    for (let x = 0; x < W; x++) {
      const p = y * W + x, id = ids[p];
      let d = coarse[p] * 10 * tex;
      if (id === building) d += (windowRow && x % win < win * 0.55 ? -40 * tex : 0) + fine[p] * 12 * tex;
      else if (id === vegetation) d += fine[p] * 45 * tex;
      else if (id === terrain) d += fine[p] * 25 * tex;
      else if (id === road) d += fine[p] * 12 * tex + (dash && Math.abs(x + 0.5 - laneX) < laneHalf ? 110 * tex : 0);
      else if (id === sidewalk) d += (((x >> 3) & 1) ^ tile ? 8 : -8) * tex;
      else if (id === sky) d += skyShade;
      const pi = id * 3, ji = instance[p] * 3, o = p * 3;
      // v = contrast·((base + d + jitter)·light·tint − 128) + 128, then haze towards 200.
      img[o] = (pal[pi] + d + jitter[ji]) * m0 * cm + fogAdd;
      img[o + 1] = (pal[pi + 1] + d + jitter[ji + 1]) * m1 * cm + fogAdd;
      img[o + 2] = (pal[pi + 2] + d + jitter[ji + 2]) * m2 * cm + fogAdd;
    }
  }
  // Gamma through a table on 1/16 grey-level steps (the result is rounded to 8 bits anyway).
  const gammaLut = new Float32Array(255 * 16 + 1);
  for (let i = 0; i < gammaLut.length; i++) gammaLut[i] = 255 * Math.pow(i / (255 * 16), style.gamma);
  for (let i = 0; i < img.length; i++) {
    const v = img[i];
    img[i] = gammaLut[v <= 0 ? 0 : v >= 255 ? 4080 : (v * 16 + 0.5) | 0];
  }
  const blurred = style.blur > 0 ? gaussianBlur(img, W, H, style.blur) : img;
  const out = new Uint8Array(W * H * 3);
  // Sensor noise: triangular (sum of two 16-bit uniforms − 1), scaled to standard deviation `noise`.
  const amp = style.noise * 2.449 / 65536;
  for (let i = 0; i < out.length; i++) {
    let v = blurred[i];
    if (amp > 0) {
      const u = rng.nextU32();
      v += amp * ((u & 0xffff) + (u >>> 16) - 65536);
    }
    out[i] = Math.min(255, Math.max(0, Math.round(v)));
  }
  return out;
}
