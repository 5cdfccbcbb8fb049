// Durable checkpoints: each is one file `ckpt-<step>.safetensors` plus `ckpt-<step>.json`
// (sha256, byte length, step, config hash). Written atomically (temp file, fsync, rename,
// fsync of the folder), the last K kept; loading verifies the checksum and falls back to
// the previous checkpoint, with a warning, when the newest is damaged.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface CheckpointMeta {
  step: number;
  configHash: string;
  sha256: string;
  bytes: number;
  createdAt: string;
  /** Free-form extras (generation, world size, data cursor, …). */
  extra?: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  data: Buffer;
  path: string;
}

export type CheckpointWarn = (msg: string, fields: Record<string, unknown>) => void;

/** Writes `data` to `path` so that a crash leaves either the old file or the new one. */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export class CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep: number,
    private readonly warn: CheckpointWarn = () => {},
  ) {
    if (keep < 1) throw new Error('CheckpointStore: keep must be at least 1');
    mkdirSync(dir, { recursive: true });
  }

  private base(step: number): string {
    return join(this.dir, `ckpt-${String(step).padStart(8, '0')}`);
  }

  /** Steps of the checkpoints on disk, newest first. */
  steps(): number[] {
    return readdirSync(this.dir)
      .map((f) => /^ckpt-(\d+)\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
  }

  save(step: number, configHash: string, data: Buffer, extra?: Record<string, unknown>): CheckpointMeta {
    const meta: CheckpointMeta = {
      step,
      configHash,
      sha256: createHash('sha256').update(data).digest('hex'),
      bytes: data.length,
      createdAt: new Date().toISOString(),
      extra,
    };
    const b = this.base(step);
    writeFileAtomic(`${b}.safetensors`, data);
    // The sidecar goes last: a checkpoint without its sidecar is invisible, never half-read.
    writeFileAtomic(`${b}.json`, JSON.stringify(meta, null, 2));
    for (const old of this.steps().slice(this.keep)) this.remove(old);
    return meta;
  }

  private remove(step: number): void {
    const b = this.base(step);
    rmSync(`${b}.json`, { force: true });
    rmSync(`${b}.safetensors`, { force: true });
  }

  /** Newest checkpoint whose checksum verifies (and whose config hash matches, if given). */
  loadLatest(configHash?: string): LoadedCheckpoint | null {
    for (const step of this.steps()) {
      const b = this.base(step);
      const problem = (why: string) => this.warn('checkpoint unusable, trying the previous one', { path: `${b}.safetensors`, why });
      let meta: CheckpointMeta;
      try {
        meta = JSON.parse(readFileSync(`${b}.json`, 'utf8'));
      } catch (e) {
        problem(`sidecar unreadable: ${(e as Error).message}`);
        continue;
      }
      if (!existsSync(`${b}.safetensors`)) {
        problem('data file missing');
        continue;
      }
      const data = readFileSync(`${b}.safetensors`);
      const sha = createHash('sha256').update(data).digest('hex');
      if (data.length !== meta.bytes || sha !== meta.sha256) {
        problem(`checksum mismatch (expected ${meta.sha256.slice(0, 12)}…, ${meta.bytes} bytes; got ${sha.slice(0, 12)}…, ${data.length} bytes)`);
        continue;
      }
      if (configHash && meta.configHash !== configHash) {
        problem(`written by another config (hash ${meta.configHash.slice(0, 12)}…, this run ${configHash.slice(0, 12)}…)`);
        continue;
      }
      return { meta, data, path: `${b}.safetensors` };
    }
    return null;
  }
}
