// Procedural street scenes as Cityscapes label-id maps: sky on top, a road converging to a vanishing
// point, sidewalks, facades in perspective, a distant skyline, and objects standing on the ground
// whose size follows their depth (trees, poles with signs/lights, people, cars; trucks, buses,
// riders, bikes, trains rarely). Both synthetic domains draw layouts from this one distribution;
// only the appearance (style) differs.
import type { Rng } from '../../common/random.js';
import { LabelCanvas } from './raster.js';

/** Cityscapes label ids used by the generator. */
export const ID = {
  static: 4, road: 7, sidewalk: 8, parking: 9, building: 11, wall: 12, fence: 13, pole: 17,
  light: 19, sign: 20, vegetation: 21, terrain: 22, sky: 23, person: 24, rider: 25,
  car: 26, truck: 27, bus: 28, train: 31, motorcycle: 32, bicycle: 33,
} as const;

export interface Scene {
  width: number;
  height: number;
  /** Cityscapes label ids, row-major. */
  ids: Uint8Array;
  /** Object/segment number per pixel (appearance varies per instance). */
  instance: Uint16Array;
  /** Horizon row and vanishing-point column (for depth-dependent appearance). */
  horizon: number;
  vanishX: number;
  /** Road centre line at the bottom row (lane markings). */
  roadCentreBottom: number;
}

interface Placed {
  depth: number;
  draw: () => void;
}

export function generateScene(rng: Rng, W: number, H: number): Scene {
  const U = (a: number, b: number) => rng.uniform(a, b);
  const P = (p: number) => rng.random() < p;
  const c = new LabelCanvas(W, H);
  const hy = H * U(0.36, 0.48);
  const vx = W * U(0.38, 0.62);
  const yAt = (t: number) => hy + t * (H - hy);
  const shift = W * U(-0.1, 0.1);
  const halfB = W * U(0.35, 0.6);
  const walkB = W * U(0.12, 0.3);
  const roadL = (t: number) => vx + (shift - halfB) * t;
  const roadR = (t: number) => vx + (shift + halfB) * t;
  const outL = (t: number) => vx + (shift - halfB - walkB) * t;
  const outR = (t: number) => vx + (shift + halfB + walkB) * t;

  // Backdrop: sky, ground (sidewalk), verges, road.
  c.rect(0, 0, W, H, ID.sky, c.newInstance());
  c.rect(0, hy, W, H, ID.sidewalk, c.newInstance());
  const bottomT = 1.6; // lines are extended below the frame so polygons reach the bottom edge
  for (const [edge, far] of [[outL, -W], [outR, 2 * W]] as const) {
    const r = rng.random();
    const id = r < 0.45 ? ID.terrain : r < 0.55 ? ID.parking : ID.sidewalk;
    c.polygon([[vx, hy], [edge(bottomT), yAt(bottomT)], [far, yAt(bottomT)], [far, hy]], id, c.newInstance());
  }
  c.polygon([[vx - 0.5, hy], [vx + 0.5, hy], [roadR(bottomT), yAt(bottomT)], [roadL(bottomT), yAt(bottomT)]], ID.road, c.newInstance());

  // Distant skyline around the vanishing point.
  for (let x = vx - W * U(0.1, 0.25); x < vx + W * U(0.1, 0.25); ) {
    const w = W * U(0.02, 0.06);
    if (!P(0.2)) c.rect(x, hy - H * U(0.02, 0.12), x + w, hy + 0.5, P(0.75) ? ID.building : ID.vegetation, c.newInstance());
    x += w;
  }

  // Facades along both sides: base on the outer sidewalk line, height ∝ depth (perspective).
  for (const side of [-1, 1] as const) {
    const slope = side < 0 ? shift - halfB - walkB : shift + halfB + walkB;
    const baseT = (x: number) => Math.min(bottomT, Math.max(0, (x - vx) / slope));
    const base = (x: number) => yAt(baseT(x));
    const end = vx + side * W * U(0.01, 0.06);
    let x = side < 0 ? -1 : W + 1;
    while (side < 0 ? x < end : x > end) {
      const w = W * U(0.06, 0.22) * (0.4 + 0.6 * baseT(x));
      const xn = side < 0 ? Math.min(end, x + w) : Math.max(end, x - w);
      const r = rng.random();
      if (r < 0.85) {
        const id = r < 0.68 ? ID.building : ID.vegetation;
        const ratio = id === ID.building ? U(1.2, 4) : U(0.5, 1.4);
        const top = (xx: number) => hy - (base(xx) - hy) * ratio - H * 0.01;
        c.polygon([[x, base(x)], [xn, base(xn)], [xn, top(xn)], [x, top(x)]], id, c.newInstance());
        if (id === ID.building && P(0.25)) {
          const wid = P(0.5) ? ID.wall : ID.fence;
          const hRatio = U(0.15, 0.35);
          c.polygon([[x, base(x)], [xn, base(xn)], [xn, base(xn) - (base(xn) - hy) * hRatio], [x, base(x) - (base(x) - hy) * hRatio]], wid, c.newInstance());
        }
      }
      x = xn;
    }
  }

  // Objects, drawn far to near.
  const objects: Placed[] = [];
  const sideX = (t: number, side: number, frac: number) =>
    side < 0 ? roadL(t) + (outL(t) - roadL(t)) * frac : roadR(t) + (outR(t) - roadR(t)) * frac;
  const addPerson = (t: number, x: number, id: number = ID.person) => {
    const h = (H - hy) * t * U(0.55, 0.85), w = h * 0.32, y = yAt(t), inst = c.newInstance();
    c.rect(x - w * 0.2, y - h * 0.45, x - w * 0.02, y, id, inst);
    c.rect(x + w * 0.02, y - h * 0.45, x + w * 0.2, y, id, inst);
    c.rect(x - w * 0.5, y - h * 0.82, x + w * 0.5, y - h * 0.42, id, inst);
    c.ellipse(x, y - h * 0.9, w * 0.25, h * 0.1, id, inst);
  };
  const addVehicle = (t: number, x: number, id: number, widthFrac: number, heightRatio: number) => {
    const w = (roadR(t) - roadL(t)) * widthFrac, y = yAt(t), h = w * heightRatio, inst = c.newInstance();
    c.rect(x - w / 2, y - h * 0.62, x + w / 2, y - h * 0.08, id, inst);
    if (id === ID.car) c.polygon([[x - w * 0.4, y - h * 0.6], [x + w * 0.4, y - h * 0.6], [x + w * 0.3, y - h], [x - w * 0.3, y - h]], id, inst);
    else c.rect(x - w / 2, y - h, x + w / 2, y - h * 0.6, id, inst);
    c.ellipse(x - w * 0.32, y - h * 0.08, w * 0.1, h * 0.1, id, inst);
    c.ellipse(x + w * 0.32, y - h * 0.08, w * 0.1, h * 0.1, id, inst);
  };
  const onRoad = (t: number) => roadL(t) + (roadR(t) - roadL(t)) * U(0.15, 0.85);

  for (let i = rng.randint(0, 5); i > 0; i--) {
    const t = U(0.15, 1.0), side = P(0.5) ? -1 : 1, x = sideX(t, side, U(0.7, 1.1));
    objects.push({ depth: t, draw: () => {
      const h = (H - hy) * t * U(1.4, 2.4), inst = c.newInstance();
      c.rect(x - Math.max(0.6, h * 0.03), yAt(t) - h * 0.6, x + Math.max(0.6, h * 0.03), yAt(t), ID.vegetation, inst);
      c.ellipse(x, yAt(t) - h * 0.7, h * U(0.2, 0.35), h * 0.3, ID.vegetation, inst);
    } });
  }
  for (let i = rng.randint(0, 5); i > 0; i--) {
    const t = U(0.1, 1.0), side = P(0.5) ? -1 : 1, x = sideX(t, side, U(0.3, 0.8));
    objects.push({ depth: t, draw: () => {
      const h = (H - hy) * t * U(1.8, 2.6), hw = Math.max(0.6, h * 0.012), inst = c.newInstance(), top = yAt(t) - h;
      c.rect(x - hw, top, x + hw, yAt(t), ID.pole, inst);
      if (P(0.55)) {
        const s = h * U(0.06, 0.1);
        if (P(0.5)) c.ellipse(x, top + s, s, s, ID.sign, c.newInstance());
        else c.rect(x - s, top, x + s, top + s * 1.4, ID.sign, c.newInstance());
      }
      if (P(0.3)) c.rect(x - h * 0.03, top + h * 0.12, x + h * 0.03, top + h * 0.28, ID.light, c.newInstance());
    } });
  }
  for (let i = rng.randint(0, 6); i > 0; i--) {
    const t = U(0.1, 1.0), x = P(0.85) ? sideX(t, P(0.5) ? -1 : 1, U(0.2, 0.9)) : onRoad(t);
    objects.push({ depth: t, draw: () => addPerson(t, x) });
  }
  for (let i = rng.randint(0, 6); i > 0; i--) {
    const t = U(0.05, 1.0), x = onRoad(t);
    objects.push({ depth: t, draw: () => addVehicle(t, x, ID.car, U(0.3, 0.45), U(0.55, 0.7)) });
  }
  if (P(0.2)) {
    const t = U(0.1, 0.9), x = onRoad(t);
    objects.push({ depth: t, draw: () => addVehicle(t, x, ID.truck, U(0.35, 0.5), U(0.8, 1.0)) });
  }
  if (P(0.15)) {
    const t = U(0.1, 0.9), x = onRoad(t);
    objects.push({ depth: t, draw: () => addVehicle(t, x, ID.bus, U(0.4, 0.55), U(0.9, 1.1)) });
  }
  if (P(0.04)) {
    const t = U(0.08, 0.25), x0 = W * U(-0.2, 0.5), len = W * U(0.4, 0.8);
    objects.push({ depth: t, draw: () => {
      const h = (H - hy) * t * 2.2, inst = c.newInstance();
      c.rect(x0, yAt(t) - h, x0 + len, yAt(t), ID.train, inst);
    } });
  }
  for (const [p, vehicle] of [[0.15, ID.bicycle], [0.08, ID.motorcycle]] as const) {
    if (!P(p)) continue;
    const t = U(0.2, 1.0), x = onRoad(t);
    objects.push({ depth: t, draw: () => {
      const h = (H - hy) * t * 1.3, y = yAt(t), r = h * 0.17, inst = c.newInstance();
      c.ellipse(x - h * 0.25, y - r, r, r, vehicle, inst);
      c.ellipse(x + h * 0.25, y - r, r, r, vehicle, inst);
      c.rect(x - h * 0.25, y - r * 2.2, x + h * 0.25, y - r * 1.4, vehicle, inst);
      const rider = c.newInstance();
      c.rect(x - h * 0.1, y - h * 0.85, x + h * 0.1, y - r * 1.8, ID.rider, rider);
      c.ellipse(x, y - h * 0.92, h * 0.08, h * 0.08, ID.rider, rider);
    } });
  }
  if (P(0.2)) {
    const t = U(0.1, 1.0), x = sideX(t, P(0.5) ? -1 : 1, U(0.3, 0.9));
    objects.push({ depth: t, draw: () => {
      const s = (H - hy) * t * U(0.15, 0.35);
      c.rect(x - s, yAt(t) - s, x + s, yAt(t), ID.static, c.newInstance());
    } });
  }
  objects.sort((a, b) => a.depth - b.depth);
  for (const o of objects) o.draw();
  return { width: W, height: H, ids: c.ids, instance: c.instance, horizon: hy, vanishX: vx, roadCentreBottom: vx + shift };
}
