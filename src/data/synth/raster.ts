// Label-map rasteriser for the synthetic scenes: filled rectangles, polygons and ellipses written
// into a label-id map and an instance map (painter's algorithm: later shapes cover earlier ones).

export class LabelCanvas {
  readonly ids: Uint8Array;
  readonly instance: Uint16Array;
  private nextInstance = 1;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.ids = new Uint8Array(width * height);
    this.instance = new Uint16Array(width * height);
  }

  /** A fresh instance number (for per-object appearance). */
  newInstance(): number {
    return this.nextInstance++ & 0xffff;
  }

  private span(y: number, xa: number, xb: number, id: number, inst: number): void {
    if (y < 0 || y >= this.height) return;
    const x0 = Math.max(0, Math.ceil(xa - 0.5)), x1 = Math.min(this.width - 1, Math.floor(xb - 0.5));
    if (x1 < x0) return;
    const o = y * this.width;
    this.ids.fill(id, o + x0, o + x1 + 1);
    this.instance.fill(inst, o + x0, o + x1 + 1);
  }

  /** Pixels whose centres lie in [x0, x1) × [y0, y1). */
  rect(x0: number, y0: number, x1: number, y1: number, id: number, inst: number): void {
    const ya = Math.max(0, Math.ceil(y0 - 0.5)), yb = Math.min(this.height - 1, Math.ceil(y1 - 0.5) - 1);
    for (let y = ya; y <= yb; y++) this.span(y, x0, x1, id, inst);
  }

  /** Polygon (any simple polygon) by even-odd scanline at pixel centres. */
  polygon(pts: ReadonlyArray<readonly [number, number]>, id: number, inst: number): void {
    let ymin = Infinity, ymax = -Infinity;
    for (const [, y] of pts) {
      ymin = Math.min(ymin, y);
      ymax = Math.max(ymax, y);
    }
    const ya = Math.max(0, Math.ceil(ymin - 0.5)), yb = Math.min(this.height - 1, Math.floor(ymax - 0.5));
    const xs: number[] = [];
    for (let y = ya; y <= yb; y++) {
      const cy = y + 0.5;
      xs.length = 0;
      for (let i = 0; i < pts.length; i++) {
        const [x1, y1] = pts[i], [x2, y2] = pts[(i + 1) % pts.length];
        if ((y1 <= cy && y2 > cy) || (y2 <= cy && y1 > cy)) xs.push(x1 + ((cy - y1) / (y2 - y1)) * (x2 - x1));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) this.span(y, xs[k], xs[k + 1], id, inst);
    }
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, id: number, inst: number): void {
    if (rx <= 0 || ry <= 0) return;
    const ya = Math.max(0, Math.ceil(cy - ry - 0.5)), yb = Math.min(this.height - 1, Math.floor(cy + ry - 0.5));
    for (let y = ya; y <= yb; y++) {
      const dy = (y + 0.5 - cy) / ry;
      if (dy * dy > 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      this.span(y, cx - half, cx + half, id, inst);
    }
  }
}
