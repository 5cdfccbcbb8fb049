// RGB ↔ HSV with kornia 0.5.x conventions, on channels-last tensors [..., 3] in [0, 1]:
//   v = max(r,g,b);  s = (max − min)/(max + eps), eps = 1e-6 (so s = 0 for black);
//   h in radians [0, 2π): the sector is chosen by the FIRST channel equal to the max
//   (r before g before b), h = ((sector formula / delta) / 6 mod 1)·2π, delta = 1 where
//   delta = 0 (grey pixels get h = 0).
// hsv→rgb uses hi = floor(6h') mod 6, f = (6h' mod 6) − hi with h' = H/2π and Python-style
// (floor) modulo, so a negative H (fmod of a negative hue shift) wraps correctly.
import * as tf from '@tensorflow/tfjs';
import { AugmentParamsError } from './errors.js';

const TWO_PI = 2 * Math.PI;

export function rgbToHsv(rgb: tf.Tensor, eps = 1e-6): tf.Tensor {
  assertThreeChannels(rgb, 'rgbToHsv');
  return tf.tidy(() => {
    const [r, g, b] = tf.split(rgb, 3, -1);
    const maxc = tf.maximum(tf.maximum(r, g), b);
    const minc = tf.minimum(tf.minimum(r, g), b);
    const delta = tf.sub(maxc, minc);
    const s = tf.div(delta, tf.add(maxc, eps));
    const safeDelta = tf.where(tf.equal(delta, 0), tf.onesLike(delta), delta);
    const rc = tf.sub(maxc, r);
    const gc = tf.sub(maxc, g);
    const bc = tf.sub(maxc, b);
    const hR = tf.sub(bc, gc);
    const hG = tf.sub(tf.add(tf.mul(safeDelta, 2), rc), bc);
    const hB = tf.sub(tf.add(tf.mul(safeDelta, 4), gc), rc);
    const sector = tf.where(tf.equal(r, maxc), hR, tf.where(tf.equal(g, maxc), hG, hB));
    const h = tf.mul(tf.mod(tf.div(tf.div(sector, safeDelta), 6), 1), TWO_PI);
    return tf.concat([h, s, maxc], -1);
  });
}

export function hsvToRgb(hsv: tf.Tensor): tf.Tensor {
  assertThreeChannels(hsv, 'hsvToRgb');
  return tf.tidy(() => {
    const [hRad, s, v] = tf.split(hsv, 3, -1);
    const h6 = tf.mul(tf.div(hRad, TWO_PI), 6);
    const hi = tf.mod(tf.floor(h6), 6);
    const f = tf.sub(tf.mod(h6, 6), hi);
    const p = tf.mul(v, tf.sub(1, s));
    const q = tf.mul(v, tf.sub(1, tf.mul(f, s)));
    const t = tf.mul(v, tf.sub(1, tf.mul(tf.sub(1, f), s)));
    const inSector = [0, 1, 2, 3, 4, 5].map((k) => tf.equal(hi, k));
    const pick = (vals: tf.Tensor[]): tf.Tensor => {
      let out = vals[5];
      for (let k = 4; k >= 0; k--) out = tf.where(inSector[k], vals[k], out);
      return out;
    };
    return tf.concat([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], -1);
  });
}

function assertThreeChannels(x: tf.Tensor, where: string): void {
  if (x.rank < 1 || x.shape[x.rank - 1] !== 3) {
    throw new AugmentParamsError(`${where}: expected a channels-last tensor with 3 channels, got shape [${x.shape}]`);
  }
}
