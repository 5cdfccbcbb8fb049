// RGB↔HSV and DACS colour jitter (kornia 0.5.8 semantics): hand-checkable cases and a
// float64 per-pixel reference written here with the textbook HSV formulas.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { hsvToRgb, rgbToHsv } from '../../src/model/augment/hsv.js';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  colorJitter01,
  colorJitterNormalized,
  drawColorJitterParams,
  hueShiftRadians,
  type ColorJitterParams,
} from '../../src/model/augment/color-jitter.js';
import { AugmentParamsError } from '../../src/model/augment/errors.js';
import { rngFor } from '../../src/common/random.js';
import { useTestBackend } from '../helpers/backend.js';
import { assertClose, withLeakCheck } from '../helpers/golden.js';

const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];
const TWO_PI = 2 * Math.PI;

before(async () => {
  await useTestBackend();
});

/** NHWC [1,H,W,3] image in [0,1] with random pixels plus edge cases (grey, black, white, pure hues, ties). */
function testImage01(seed: string, h = 6, w = 7): Float64Array {
  const rng = rngFor(5, seed);
  const px = Float64Array.from({ length: h * w * 3 }, () => rng.random());
  const special = [
    [0, 0, 0],
    [1, 1, 1],
    [0.5, 0.5, 0.5],
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 0],
    [0, 1, 1],
    [0.7, 0.2, 0.7],
    [0.01, 0.02, 0.005],
  ];
  special.forEach((c, i) => px.set(c, i * 3));
  return px;
}

function tensor01(px: Float64Array, h = 6, w = 7): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(px), [1, h, w, 3]);
}

// ---- float64 reference (textbook HSV; kornia's s = delta/(max + 1e-6)) ----
function refRgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  let h6 = 0;
  if (d > 0) {
    if (max === r) h6 = (g - b) / d;
    else if (max === g) h6 = (b - r) / d + 2;
    else h6 = (r - g) / d + 4;
  }
  const h = (((h6 / 6) % 1) + 1) % 1;
  return [h * TWO_PI, d / (max + 1e-6), max];
}

/** The "f(n) = v − v·s·max(0, min(k, 4 − k, 1))" form, independent of the sector table. */
function refHsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const hDeg = ((((h / TWO_PI) * 360) % 360) + 360) % 360;
  const f = (n: number) => {
    const k = (n + hDeg / 60) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

function refJitterPixel(rgb: [number, number, number], p: ColorJitterParams): [number, number, number] {
  let [r, g, b] = rgb;
  for (const op of p.order) {
    if (op === 0) [r, g, b] = [r, g, b].map((x) => clamp01(x + p.brightness - 1)) as [number, number, number];
    else if (op === 1) [r, g, b] = [r, g, b].map((x) => clamp01(x * p.contrast)) as [number, number, number];
    else {
      const [h, s, v] = refRgbToHsv(r, g, b);
      if (op === 2) [r, g, b] = refHsvToRgb(h, clamp01(s * p.saturation), v);
      else [r, g, b] = refHsvToRgb(h + TWO_PI * p.hue, s, v);
    }
  }
  return [r, g, b];
}

function refJitter(px: Float64Array, p: ColorJitterParams): Float64Array {
  const out = new Float64Array(px.length);
  for (let i = 0; i < px.length; i += 3) out.set(refJitterPixel([px[i], px[i + 1], px[i + 2]], p), i);
  return out;
}

test('rgbToHsv: kornia conventions on pure colours, grey and black; matches the float64 reference', async () => {
  await withLeakCheck(() => {
    const cases: Array<[number[], number[]]> = [
      [[1, 0, 0], [0, 1 / (1 + 1e-6), 1]],
      [[0, 1, 0], [TWO_PI / 3, 1 / (1 + 1e-6), 1]],
      [[0, 0, 1], [(2 * TWO_PI) / 3, 1 / (1 + 1e-6), 1]],
      [[1, 1, 0], [TWO_PI / 6, 1 / (1 + 1e-6), 1]],
      [[0.5, 0.5, 0.5], [0, 0, 0.5]],
      [[0, 0, 0], [0, 0, 0]],
      [[1, 0, 1e-3], [TWO_PI * (1 - 1e-3 / 6), 1 / (1 + 1e-6), 1]],
    ];
    const x = tf.tensor2d(cases.map((c) => c[0]));
    const got = rgbToHsv(x);
    const want = tf.tensor2d(cases.map((c) => c[1]));
    assertClose('hsv of named colours', got, want, 2e-6);
    const px = testImage01('hsv');
    const img = tensor01(px);
    const hsv = rgbToHsv(img);
    const ref = new Float64Array(px.length);
    for (let i = 0; i < px.length; i += 3) ref.set(refRgbToHsv(px[i], px[i + 1], px[i + 2]), i);
    const refT = tf.tensor4d(Float32Array.from(ref), img.shape);
    assertClose('rgbToHsv vs float64', hsv, refT, 5e-6);
    const back = hsvToRgb(hsv);
    assertClose('hsvToRgb(rgbToHsv(x)) = x', back, img, 5e-6);
    const h = tf.tidy(() => tf.slice(hsv, [0, 0, 0, 0], [-1, -1, -1, 1]).dataSync());
    assert.ok(Math.min(...h) >= 0 && Math.max(...h) < TWO_PI, 'H in [0, 2π)');
    const twoChannels = tf.zeros([2, 2]);
    assert.throws(() => rgbToHsv(twoChannels), AugmentParamsError);
    tf.dispose([x, got, want, img, hsv, refT, back, twoChannels]);
  });
});

// kornia's s = delta/(max + 1e-6) shifts a pixel by up to ~1e-6 per HSV round trip (×255/std
// in normalised units), so two round trips (saturation + hue) approach but stay below 1e-5.
test('identity factors (b=c=s=1, h=0) leave a normalised image unchanged within 1e-5', async () => {
  await withLeakCheck(() => {
    const img01 = tensor01(testImage01('identity'));
    const img = tf.tidy(() => tf.div(tf.sub(tf.mul(img01, 255), MEAN), STD));
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [2, 0, 3, 1],
    ]) {
      const out = colorJitterNormalized(img, { brightness: 1, contrast: 1, saturation: 1, hue: 0, order }, MEAN, STD);
      assertClose(`identity, order ${order}`, out, img, 1e-5);
      out.dispose();
    }
    tf.dispose([img01, img]);
  });
});

test('brightness is additive and contrast multiplicative, both clamped (constant images)', async () => {
  await withLeakCheck(() => {
    const cases: Array<[number, number]> = [
      [0.5, 1.1],
      [0.2, 0.7],
      [0.95, 1.2],
    ];
    for (const [value, factor] of cases) {
      const x = tf.fill([1, 3, 4, 3], value);
      const b = adjustBrightness(x, factor);
      const c = adjustContrast(x, factor);
      const wantB = tf.fill([1, 3, 4, 3], clamp01(value + factor - 1));
      const wantC = tf.fill([1, 3, 4, 3], clamp01(value * factor));
      assertClose(`brightness ${value}+(${factor}-1)`, b, wantB, 1e-7);
      assertClose(`contrast ${value}·${factor}`, c, wantC, 1e-7);
      tf.dispose([x, b, c, wantB, wantC]);
    }
  });
});

test('hue shift by ±2π/3 maps pure red to green / blue; saturation 0 gives grey = max channel', async () => {
  await withLeakCheck(() => {
    const red = tf.tensor4d([1, 0, 0], [1, 1, 1, 3]);
    const toGreen = adjustHue(red, hueShiftRadians(1 / 3));
    const toBlue = adjustHue(red, hueShiftRadians(-1 / 3)); // negative: exercises C fmod + floor-mod wrap
    const green = tf.tensor4d([0, 1, 0], [1, 1, 1, 3]);
    const blue = tf.tensor4d([0, 0, 1], [1, 1, 1, 3]);
    assertClose('red → green', toGreen, green, 1e-5);
    assertClose('red → blue', toBlue, blue, 1e-5);
    const px = testImage01('grey');
    const img = tensor01(px);
    const grey = adjustSaturation(img, 0);
    const maxc = tf.tidy(() => tf.tile(tf.max(img, -1, true), [1, 1, 1, 3]));
    assertClose('saturation 0 → grey', grey, maxc, 1e-6);
    tf.dispose([red, toGreen, toBlue, green, blue, img, grey, maxc]);
  });
});

test('random jitter parameters match the float64 reference in [0,1] and in normalised units', async () => {
  await withLeakCheck(() => {
    const px = testImage01('jitter', 8, 9);
    const img01 = tensor01(px, 8, 9);
    const imgN = tf.tidy(() => tf.div(tf.sub(tf.mul(img01, 255), MEAN), STD));
    const rng = rngFor(9, 'jitter-params');
    for (let trial = 0; trial < 12; trial++) {
      // wider than DACS (s=0.5) so hue shifts cross sectors and both wrap directions
      const p = drawColorJitterParams(rng, trial < 6 ? 0.2 : 0.5);
      const ref = refJitter(px, p);
      const refT = tf.tensor4d(Float32Array.from(ref), img01.shape);
      const got = colorJitter01(img01, p);
      assertClose(`jitter01 #${trial} order ${p.order}`, got, refT, 5e-6);
      const gotN = colorJitterNormalized(imgN, p, MEAN, STD);
      const refN = tf.tidy(() => tf.div(tf.sub(tf.mul(refT, 255), MEAN), STD));
      assertClose(`jitter normalised #${trial}`, gotN, refN, 2e-5);
      tf.dispose([refT, got, gotN, refN]);
    }
    tf.dispose([img01, imgN]);
  });
});

test('drawColorJitterParams: ranges of kornia ColorJitter(s) and a permutation order', () => {
  const rng = rngFor(1, 'ranges');
  for (let i = 0; i < 200; i++) {
    const p = drawColorJitterParams(rng, 0.2);
    for (const k of ['brightness', 'contrast', 'saturation'] as const) assert.ok(p[k] >= Math.fround(0.8) && p[k] <= Math.fround(1.2), `${k} ${p[k]}`);
    assert.ok(Math.abs(p.hue) <= Math.fround(0.2));
    assert.deepEqual([...p.order].sort(), [0, 1, 2, 3]);
    assert.equal(p.hue, Math.fround(p.hue), 'float32 like kornia');
  }
  const wide = drawColorJitterParams(rngFor(1, 'wide'), 3);
  assert.ok(Math.abs(wide.hue) <= 0.5 && wide.brightness <= 2 && wide.contrast >= 0);
  const px = tf.zeros([1, 1, 1, 3]);
  assert.throws(() => colorJitter01(px, { brightness: 1, contrast: 1, saturation: 1, hue: 0, order: [0, 1, 1, 3] }), AugmentParamsError);
  px.dispose();
});
