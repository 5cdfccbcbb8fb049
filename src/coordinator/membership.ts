// Who is in the run: workers that joined, which of them form the current generation
// (ranks 0..world-1), and when a generation must be re-formed. Pure logic with an
// injected clock, so the policies are unit-testable without sockets.

export type WorkerState = 'waiting' | 'training' | 'lost' | 'left';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** host:port of the worker's Peer service (the ring data plane). */
  peerAddress: string;
  backend: string;
  state: WorkerState;
  rank: number | null;
  joinedAt: number;
  lastSeen: number;
  lastStep: number;
  /** Recent step times (ms), newest last, for straggler reports. */
  recentStepMs: number[];
}

export interface GenerationPlan {
  generation: number;
  /** Worker ids in rank order. */
  members: string[];
  /** Peer addresses in rank order (the ring). */
  peers: string[];
  /** Step the generation starts at (the step after the last commit). */
  startStep: number;
}

export interface MembershipPolicy {
  /** Workers to wait for before the first generation starts. */
  targetWorkers: number;
  /** Fewer than this after a failure ends the run. */
  minWorkers: number;
  /** Generations that may be formed after failures. */
  maxRestarts: number;
  /** The fixed global batch: the world size must divide it. */
  globalBatch: number;
  /** A worker silent for this long is lost. */
  failureTimeoutMs: number;
}

export class MembershipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MembershipError';
  }
}

/** Largest w ≤ available with globalBatch % w === 0 (so per-worker batch is an integer). */
export function usableWorld(available: number, globalBatch: number): number {
  for (let w = Math.min(available, globalBatch); w >= 1; w--) if (globalBatch % w === 0) return w;
  return 0;
}

export class Membership {
  readonly workers = new Map<string, WorkerInfo>();
  generation = 0;
  current: GenerationPlan | null = null;
  restarts = 0;
  private nextId = 0;

  constructor(
    readonly policy: MembershipPolicy,
    private readonly now: () => number = Date.now,
  ) {
    if (policy.targetWorkers < 1) throw new MembershipError('targetWorkers must be at least 1');
    if (usableWorld(policy.targetWorkers, policy.globalBatch) !== policy.targetWorkers) {
      throw new MembershipError(
        `train.globalBatch (${policy.globalBatch}) is not divisible by ${policy.targetWorkers} workers; ` +
          `use a worker count that divides it (e.g. ${usableWorld(policy.targetWorkers, policy.globalBatch)}) or change the batch`,
      );
    }
  }

  join(info: Omit<WorkerInfo, 'id' | 'state' | 'rank' | 'joinedAt' | 'lastSeen' | 'lastStep' | 'recentStepMs'>, id?: string): WorkerInfo {
    const wid = id ?? `w${this.nextId++}-${info.host}-${info.pid}`;
    const t = this.now();
    const w: WorkerInfo = { ...info, id: wid, state: 'waiting', rank: null, joinedAt: t, lastSeen: t, lastStep: -1, recentStepMs: [] };
    this.workers.set(wid, w);
    return w;
  }

  get(id: string): WorkerInfo {
    const w = this.workers.get(id);
    if (!w) throw new MembershipError(`unknown worker '${id}'`);
    return w;
  }

  heartbeat(id: string): void {
    this.get(id).lastSeen = this.now();
  }

  reportStep(id: string, step: number, ms: number): void {
    const w = this.get(id);
    w.lastSeen = this.now();
    w.lastStep = step;
    w.recentStepMs.push(ms);
    if (w.recentStepMs.length > 20) w.recentStepMs.shift();
  }

  waiting(): WorkerInfo[] {
    return [...this.workers.values()].filter((w) => w.state === 'waiting').sort((a, b) => a.joinedAt - b.joinedAt);
  }

  members(): WorkerInfo[] {
    return (this.current?.members ?? []).map((id) => this.get(id));
  }

  /** Members silent for longer than the failure timeout. */
  silentMembers(): WorkerInfo[] {
    const t = this.now();
    return this.members().filter((w) => t - w.lastSeen > this.policy.failureTimeoutMs);
  }

  /** Marks a worker lost (or left); returns true if it was a member of the current generation. */
  remove(id: string, why: 'lost' | 'left'): boolean {
    const w = this.workers.get(id);
    if (!w) return false;
    const wasMember = w.state === 'training';
    w.state = why;
    w.rank = null;
    return wasMember;
  }

  /** Whether the first generation can start (enough workers are waiting). */
  readyToStart(): boolean {
    return this.current === null && this.waiting().length >= this.policy.targetWorkers;
  }

  /**
   * Forms the next generation from the surviving members plus waiting workers, keeping
   * the world size a divisor of the global batch. Throws when too few remain or the
   * restart budget is spent.
   */
  formGeneration(startStep: number, afterFailure: boolean): GenerationPlan {
    if (afterFailure) {
      this.restarts++;
      if (this.restarts > this.policy.maxRestarts) {
        throw new MembershipError(`restart budget exhausted (${this.policy.maxRestarts} restarts after failures)`);
      }
    }
    const survivors = this.members().filter((w) => w.state === 'training');
    const candidates = [...survivors, ...this.waiting()];
    const world = usableWorld(candidates.length, this.policy.globalBatch);
    if (world < this.policy.minWorkers || world === 0) {
      throw new MembershipError(
        `only ${candidates.length} worker(s) available (usable world ${world}), below minWorkers ${this.policy.minWorkers}`,
      );
    }
    const chosen = candidates.slice(0, world);
    for (const w of this.workers.values()) if (w.state === 'training' && !chosen.includes(w)) w.state = 'waiting';
    chosen.forEach((w, r) => {
      w.state = 'training';
      w.rank = r;
      w.lastSeen = this.now();
    });
    this.generation++;
    this.current = {
      generation: this.generation,
      members: chosen.map((w) => w.id),
      peers: chosen.map((w) => w.peerAddress),
      startStep,
    };
    return this.current;
  }

  /** Median-relative slowness per member; ranks slower than `factor`× the median are stragglers. */
  stragglers(factor = 1.5, minSamples = 5): Array<{ id: string; rank: number; medianMs: number; groupMedianMs: number }> {
    const med = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length ? s[Math.floor(s.length / 2)] : NaN;
    };
    const m = this.members().filter((w) => w.recentStepMs.length >= minSamples);
    if (m.length < 2) return [];
    const group = med(m.map((w) => med(w.recentStepMs)));
    return m
      .map((w) => ({ id: w.id, rank: w.rank ?? -1, medianMs: med(w.recentStepMs), groupMedianMs: group }))
      .filter((s) => s.medianMs > factor * group);
  }
}
