// RandomCrop with cat_max_ratio re-draws, flip, Normalize/Pad, the valid-pseudo-label margin mask,
// and the RCS re-crop rule — checked through the pipelines on in-memory images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rngFor } from '../../../src/common/random.js';
import { catMaxRatioOk, cropWithCatMaxRatio, IMAGENET_NORMALISATION, normalisationTable } from '../../../src/data/transforms.js';
import { sourceSample, targetSample, type SourcePipelineConfig, type TargetPipelineConfig } from '../../../src/data/pipelines.js';
import { resizeBilinearWindow, resizeNearestWindow } from '../../../src/data/resize.js';

const norm = IMAGENET_NORMALISATION;

function randomImage(w: number, h: number, seed: number) {
  const rng = rngFor(seed, 'img');
  return { data: Uint8Array.from({ length: w * h * 3 }, () => rng.randint(0, 256)), width: w, height: h };
}

test('cat_max_ratio test: ignores 255, needs ≥ 2 classes and max share < ratio', () => {
  assert.equal(catMaxRatioOk(Uint8Array.from([0, 0, 0, 1]), 0.75), false); // 3/4 is not < 0.75
  assert.equal(catMaxRatioOk(Uint8Array.from([0, 0, 1, 1, 2]), 0.75), true);
  assert.equal(catMaxRatioOk(Uint8Array.from([0, 0, 255, 255, 255, 1]), 0.75), true); // 2/3 of non-ignored
  assert.equal(catMaxRatioOk(Uint8Array.from([5, 255, 255]), 0.75), false); // one class
  assert.equal(catMaxRatioOk(Uint8Array.from([255, 255]), 0.75), false);
});

test('RandomCrop re-draws up to 10 times until the crop passes, keeping the 11th box regardless', () => {
  const w = 100, h = 100;
  const label = new Uint8Array(w * h); // class 0 with a 12-column stripe of class 1 on the right
  for (let y = 0; y < h; y++) label.fill(1, y * w + 88, y * w + 100);
  const crop = (b: { y1: number; y2: number; x1: number; x2: number }) => resizeNearestWindow(label, w, h, w, h, { y: b.y1, x: b.x1, height: b.y2 - b.y1, width: b.x2 - b.x1 });
  let redrawn = 0;
  for (let s = 0; s < 40; s++) {
    const { box, draws } = cropWithCatMaxRatio(rngFor(s, 'crop'), h, w, 30, 30, 0.75, crop);
    assert.ok(draws >= 1 && draws <= 11);
    if (draws < 11) assert.ok(catMaxRatioOk(crop(box), 0.75), `seed ${s}: accepted box must pass`);
    if (draws > 1) redrawn++;
  }
  assert.ok(redrawn > 10, `re-draws happen (${redrawn}/40)`);
  const uniform = new Uint8Array(w * h).fill(3);
  const u = (b: { y1: number; y2: number; x1: number; x2: number }) => uniform.subarray(0, (b.y2 - b.y1) * (b.x2 - b.x1));
  assert.equal(cropWithCatMaxRatio(rngFor(1, 'c'), h, w, 30, 30, 0.75, u).draws, 11);
  assert.equal(cropWithCatMaxRatio(rngFor(1, 'c'), h, w, 30, 30, 1, u).draws, 1); // cat_max_ratio 1 disables
});

test('source pipeline: keep-ratio resize inside the crop, label by nearest, flip, normalisation', () => {
  const img = randomImage(191, 105, 1);
  const rng = rngFor(9, 'lab');
  const label = { data: Uint8Array.from({ length: 191 * 105 }, () => rng.randint(0, 19)), width: 191, height: 105 };
  const cfg: SourcePipelineConfig = { resizeScale: [256, 144], crop: [48, 64], catMaxRatio: 0.75, flipProb: 0.5, norm };
  const flips = new Set<boolean>();
  for (let s = 0; s < 8; s++) {
    const smp = sourceSample(img, label, cfg, rngFor(s, 'sample'), { path: 'img', labelPath: 'lab', index: 0 });
    const { crop, flip } = smp.meta;
    flips.add(flip);
    assert.deepEqual(smp.meta.resizedSize, [141, 256]); // 191×105 ×1.3403 → 256×141
    assert.deepEqual([smp.height, smp.width], [48, 64]);
    const win = { y: crop.y1, x: crop.x1, height: 48, width: 64 };
    const rgb = resizeBilinearWindow(img.data, 191, 105, 3, 256, 141, win);
    const lab = resizeNearestWindow(label.data, 191, 105, 256, 141, win);
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 64; x++) {
        const sx = flip ? 63 - x : x;
        assert.equal(smp.label[y * 64 + x], lab[y * 64 + sx]);
        for (let c = 0; c < 3; c++) {
          const expect = (rgb[(y * 64 + sx) * 3 + c] - norm.mean[c]) / norm.std[c];
          assert.ok(Math.abs(smp.img[(y * 64 + x) * 3 + c] - expect) < 1e-5);
        }
      }
  }
  assert.equal(flips.size, 2, 'both flip outcomes occur');
});

test('normalisation table is (v − mean)/std in float32', () => {
  const lut = normalisationTable(norm);
  for (let c = 0; c < 3; c++)
    for (const v of [0, 1, 100, 128, 254, 255]) assert.ok(Math.abs(lut[c * 256 + v] - (v - norm.mean[c]) / norm.std[c]) < 1e-6);
});

test('valid pseudo-label mask: margins 30/240/30/30 of the 2048×1024 frame follow crop and flip', () => {
  const img = { data: new Uint8Array(2048 * 1024 * 3).fill(90), width: 2048, height: 1024 };
  const cfg: TargetPipelineConfig = { resizeScale: [2048, 1024], crop: [1024, 1024], flipProb: 0.5, norm, pseudoMargins: [30, 240, 30, 30] };
  const flips = new Set<boolean>();
  for (let s = 0; s < 6; s++) {
    const t = targetSample(img, cfg, rngFor(s, 'target'), { path: 'x', index: 0 });
    const { crop, flip } = t.meta;
    flips.add(flip);
    assert.equal(crop.y1, 0, 'vertical offset is always 0');
    for (let y = 0; y < 1024; y += 7)
      for (let x = 0; x < 1024; x += 3) {
        const ox = crop.x1 + (flip ? 1023 - x : x);
        const inside = y >= 30 && y < 1024 - 240 && ox >= 30 && ox < 2048 - 30;
        assert.equal(t.validPseudoMask[y * 1024 + x], inside ? 1 : 0, `y ${y} x ${x} crop ${crop.x1} flip ${flip}`);
      }
  }
  assert.equal(flips.size, 2);
  // A 64×32 frame resized ×2 to 128×64: margins are in original pixels, so they double.
  const small = { data: new Uint8Array(64 * 32 * 3), width: 64, height: 32 };
  const t = targetSample(small, { ...cfg, resizeScale: [128, 64], crop: [64, 128], flipProb: 0, pseudoMargins: [2, 4, 3, 1] }, rngFor(0, 't'), { path: 'x', index: 0 });
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 128; x++) {
      const inside = y >= 4 && y < 64 - 8 && x >= 6 && x < 128 - 2;
      assert.equal(t.validPseudoMask[y * 128 + x], inside ? 1 : 0, `scaled mask y ${y} x ${x}`);
    }
});

test('padding: an image smaller than the crop is padded with 0 (image), 255 (label), 0 (mask)', () => {
  const img = randomImage(20, 10, 2);
  const label = { data: new Uint8Array(200).fill(4), width: 20, height: 10 };
  const s = sourceSample(img, label, { resizeScale: null, crop: [16, 24], catMaxRatio: 1, flipProb: 0, norm }, rngFor(0, 'p'), { path: 'i', labelPath: 'l', index: 0 });
  assert.equal(s.label[0], 4);
  assert.equal(s.label[15 * 24 + 23], 255);
  assert.equal(s.label[9 * 24 + 20], 255);
  assert.equal(s.img[(15 * 24 + 23) * 3], 0);
  const t = targetSample(img, { resizeScale: null, crop: [16, 24], flipProb: 0, norm, pseudoMargins: [0, 0, 0, 0] }, rngFor(0, 'p'), { path: 'i', index: 0 });
  assert.equal(t.validPseudoMask[0], 1);
  assert.equal(t.validPseudoMask[15 * 24 + 23], 0);
});

test('RCS re-crop: pipeline re-runs until the crop holds more than minPixels×ratio of the class (≤ 11 runs)', () => {
  const w = 120, h = 60;
  const data = new Uint8Array(w * h); // class 0 background, 1 on the right half of the bottom rows, rare class 7 in a 20×20 corner block
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = y < 20 && x < 20 ? 7 : x > 60 ? 1 : 0;
  const img = randomImage(w, h, 3);
  const cfg: SourcePipelineConfig = { resizeScale: null, crop: [30, 30], catMaxRatio: 1, flipProb: 0.5, norm };
  let reran = 0;
  for (let s = 0; s < 20; s++) {
    const smp = sourceSample(img, { data, width: w, height: h }, cfg, rngFor(s, 'rcs'), { path: 'i', labelPath: 'l', index: 0 }, { cls: 7, minCropPixels: 50, maxReruns: 10 });
    const n = smp.label.reduce((a, v) => a + (v === 7 ? 1 : 0), 0);
    assert.ok(smp.meta.rcsRuns! >= 1 && smp.meta.rcsRuns! <= 11);
    if (smp.meta.rcsRuns! < 11) assert.ok(n > 50, `seed ${s}: accepted crop has ${n} pixels of the class`);
    if (smp.meta.rcsRuns! > 1) reran++;
  }
  assert.ok(reran > 5, `re-runs happen (${reran}/20)`);
  const never = sourceSample(img, { data, width: w, height: h }, cfg, rngFor(0, 'rcs'), { path: 'i', labelPath: 'l', index: 0 }, { cls: 9, minCropPixels: 50, maxReruns: 10 });
  assert.equal(never.meta.rcsRuns, 11);
});
