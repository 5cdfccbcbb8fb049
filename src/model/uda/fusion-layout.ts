// The fusion buffer: everything a step's ranks must agree on, in one Float32Array with a
// layout fixed by the model (identical on every rank), so one all-reduce (mean) of it makes
// every rank's optimizer step identical:
//   [ gradients of every trainable parameter, in declaration order (0 where absent) ]
//   [ one presence flag per trainable parameter (1 = this rank had a gradient)        ]
//   [ student BN running stats after this rank's micro-batches, then the teacher's   ]
//   [ loss parts (LOG_KEYS order)                                                     ]
//   [ non-finite flag: 1 if any gradient on this rank was NaN/Inf                     ]
// Presence is needed because a parameter without any gradient must be skipped by AdamW
// (no update, no decay), as PyTorch does for p.grad None.
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../params.js';

export const LOG_KEYS = [
  'loss',
  'decode.loss_seg',
  'decode.acc_seg',
  'decode.hr.loss_seg',
  'decode.hr.acc_seg',
  'loss_contrast',
  'src.loss_imnet_feat_dist',
  'mix.decode.loss_seg',
  'mix.decode.acc_seg',
  'mix.decode.hr.loss_seg',
  'mix.decode.hr.acc_seg',
  'mix.loss_patch',
  'pseudo_fraction',
] as const;

interface Segment {
  name: string;
  offset: number;
  size: number;
  shape: number[];
}

export class FusionLayout {
  readonly grads: Segment[] = [];
  readonly bn: Array<Segment & { store: 'student' | 'teacher' }> = [];
  readonly presenceOffset: number;
  readonly logOffset: number;
  readonly flagOffset: number;
  readonly length: number;

  constructor(trainable: ReadonlyArray<[string, tf.Variable]>, student: ParamStore, teacher: ParamStore) {
    let off = 0;
    for (const [name, v] of trainable) {
      this.grads.push({ name, offset: off, size: v.size, shape: v.shape });
      off += v.size;
    }
    this.presenceOffset = off;
    off += trainable.length;
    for (const [storeName, store] of [['student', student], ['teacher', teacher]] as const) {
      for (const s of store.specs) {
        if (s.kind !== 'buffer' || !/running_(mean|var)$/.test(s.name)) continue;
        const size = s.torchShape.reduce((a, b) => a * b, 1);
        this.bn.push({ name: s.name, offset: off, size, shape: [...s.torchShape], store: storeName });
        off += size;
      }
    }
    this.logOffset = off;
    off += LOG_KEYS.length;
    this.flagOffset = off;
    this.length = off + 1;
  }

  /** Packs this rank's (already micro-batch-averaged) results. */
  pack(grads: ReadonlyMap<string, Float32Array>, bn: ReadonlyMap<string, Float32Array>, logs: Readonly<Record<string, number>>): Float32Array {
    const buf = new Float32Array(this.length);
    let nonFinite = 0;
    this.grads.forEach((g, i) => {
      const d = grads.get(g.name);
      if (!d) return;
      buf.set(d, g.offset);
      buf[this.presenceOffset + i] = 1;
      for (let j = 0; j < d.length; j++) if (!Number.isFinite(d[j])) nonFinite = 1;
    });
    for (const b of this.bn) {
      const d = bn.get(`${b.store}:${b.name}`);
      if (!d) throw new Error(`fusion buffer: no BN statistics for ${b.store} ${b.name}`);
      buf.set(d, b.offset);
    }
    LOG_KEYS.forEach((k, i) => {
      const v = logs[k];
      buf[this.logOffset + i] = Number.isFinite(v) ? v : 0;
    });
    buf[this.flagOffset] = nonFinite;
    return buf;
  }

  /** Gradients present on any rank (as tensors the caller disposes). */
  unpackGrads(buf: Float32Array): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    this.grads.forEach((g, i) => {
      if (buf[this.presenceOffset + i] > 0) out.set(g.name, tf.tensor(buf.subarray(g.offset, g.offset + g.size), g.shape));
    });
    return out;
  }

  unpackLogs(buf: Float32Array): Record<string, number> {
    const out: Record<string, number> = {};
    LOG_KEYS.forEach((k, i) => (out[k] = buf[this.logOffset + i]));
    return out;
  }

  nonFinite(buf: Float32Array): boolean {
    return !(buf[this.flagOffset] === 0);
  }

  /** Writes the averaged BN running statistics into the stores. */
  assignBn(buf: Float32Array, student: ParamStore, teacher: ParamStore): void {
    for (const b of this.bn) {
      const store = b.store === 'student' ? student : teacher;
      tf.tidy(() => store.get(b.name).assign(tf.tensor(buf.slice(b.offset, b.offset + b.size), b.shape)));
    }
  }
}
