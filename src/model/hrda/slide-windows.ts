// The sliding-window grid shared by HRDA's HR slide inference (extract_slide_feat) and
// mmseg's test-time slide_inference: n = max(H − crop + stride − 1, 0)//stride + 1 windows
// per axis, row-major, the last one shifted back to end at the border (and clipped at 0
// when the image is smaller than the crop).
import type { CropBox } from './crop-box.js';

export function slideWindowBoxes(
  imgH: number,
  imgW: number,
  crop: readonly [number, number],
  stride: readonly [number, number],
): CropBox[] {
  const [hCrop, wCrop] = crop;
  const [hStride, wStride] = stride;
  if (!(hCrop > 0 && wCrop > 0 && hStride > 0 && wStride > 0)) {
    throw new Error(`slide windows need positive crop and stride, got crop [${crop}] stride [${stride}]`);
  }
  const hGrids = Math.floor(Math.max(imgH - hCrop + hStride - 1, 0) / hStride) + 1;
  const wGrids = Math.floor(Math.max(imgW - wCrop + wStride - 1, 0) / wStride) + 1;
  const boxes: CropBox[] = [];
  for (let hi = 0; hi < hGrids; hi++) {
    for (let wi = 0; wi < wGrids; wi++) {
      const y2 = Math.min(hi * hStride + hCrop, imgH);
      const x2 = Math.min(wi * wStride + wCrop, imgW);
      boxes.push([Math.max(y2 - hCrop, 0), y2, Math.max(x2 - wCrop, 0), x2]);
    }
  }
  return boxes;
}
