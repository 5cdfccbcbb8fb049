// Keep-ratio sizes (SPEC §4.3) and OpenCV-exact resizing, against outputs of OpenCV's cv2.resize
// stored in fixtures/cv2-resize.json (independent reference; see its "generator" field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keepRatioSize, resizeBilinearWindow, resizeNearestWindow } from '../../../src/data/resize.js';
import { rngFor } from '../../../src/common/random.js';

interface Case {
  interp: 'linear' | 'nearest';
  src: { width: number; height: number; channels: number; base64: string };
  dst: { width: number; height: number; base64: string };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/cv2-resize.json', import.meta.url), 'utf8')) as { cases: Case[] };

test('keep-ratio sizes: GTA 1914×1052 → 2560×1407, Synthia 1280×760 → 2560×1520, Cityscapes unchanged', () => {
  assert.deepEqual(keepRatioSize(1914, 1052, [2560, 1440]), [2560, 1407]);
  assert.deepEqual(keepRatioSize(1280, 760, [2560, 1520]), [2560, 1520]);
  assert.deepEqual(keepRatioSize(2048, 1024, [2048, 1024]), [2048, 1024]);
  // Portrait input: the long edge is bounded by the long scale side.
  assert.deepEqual(keepRatioSize(1052, 1914, [2560, 1440]), [1407, 2560]);
});

test('bilinear and nearest equal cv2.resize bit for bit', () => {
  assert.ok(fixture.cases.length >= 5);
  for (const c of fixture.cases) {
    const src = new Uint8Array(Buffer.from(c.src.base64, 'base64'));
    const ref = new Uint8Array(Buffer.from(c.dst.base64, 'base64'));
    const win = { y: 0, x: 0, height: c.dst.height, width: c.dst.width };
    const out = c.interp === 'linear'
      ? resizeBilinearWindow(src, c.src.width, c.src.height, c.src.channels, c.dst.width, c.dst.height, win)
      : resizeNearestWindow(src, c.src.width, c.src.height, c.dst.width, c.dst.height, win);
    let differ = 0;
    for (let i = 0; i < ref.length; i++) if (out[i] !== ref[i]) differ++;
    console.log(`${c.interp} ${c.src.width}×${c.src.height}×${c.src.channels} → ${c.dst.width}×${c.dst.height}: ${differ} of ${ref.length} values differ`);
    assert.equal(differ, 0);
  }
});

test('a window of the resize equals the same window cut from the full resize', () => {
  const w = 61, h = 34, dw = 82, dh = 45; // ×1.3375, like GTA → 2560
  const rng = rngFor(3, 'window');
  const src = Uint8Array.from({ length: w * h * 3 }, () => rng.randint(0, 256));
  const full = resizeBilinearWindow(src, w, h, 3, dw, dh, { y: 0, x: 0, height: dh, width: dw });
  const lab = Uint8Array.from({ length: w * h }, () => rng.randint(0, 19));
  const fullLab = resizeNearestWindow(lab, w, h, dw, dh, { y: 0, x: 0, height: dh, width: dw });
  for (const win of [{ y: 0, x: 0, height: 20, width: 30 }, { y: 25, x: 52, height: 20, width: 30 }, { y: 7, x: 13, height: 1, width: 1 }]) {
    const part = resizeBilinearWindow(src, w, h, 3, dw, dh, win);
    const partLab = resizeNearestWindow(lab, w, h, dw, dh, win);
    for (let y = 0; y < win.height; y++)
      for (let x = 0; x < win.width; x++) {
        assert.equal(partLab[y * win.width + x], fullLab[(win.y + y) * dw + win.x + x]);
        for (let c = 0; c < 3; c++) assert.equal(part[(y * win.width + x) * 3 + c], full[((win.y + y) * dw + win.x + x) * 3 + c]);
      }
  }
});

test('identity size copies; constant images stay constant', () => {
  const src = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => i);
  assert.deepEqual(resizeBilinearWindow(src, 5, 4, 3, 5, 4, { y: 1, x: 1, height: 2, width: 3 }), Uint8Array.from([18, 19, 20, 21, 22, 23, 24, 25, 26, 33, 34, 35, 36, 37, 38, 39, 40, 41]));
  const flat = new Uint8Array(9 * 7 * 3).fill(201);
  assert.ok(resizeBilinearWindow(flat, 9, 7, 3, 23, 11, { y: 0, x: 0, height: 11, width: 23 }).every((v) => v === 201));
});
