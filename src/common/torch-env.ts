// The launch contract users already have from torchrun / Kubeflow's PyTorchJob:
// RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT. A worker started that way finds the
// coordinator at MASTER_ADDR:MASTER_PORT instead of `--coordinator`. The environment
// arrives as a plain record because cli.ts is the only place that reads process.env.

export class TorchEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchEnvError';
  }
}

export type EnvRecord = Readonly<Record<string, string | undefined>>;

export interface TorchEnv {
  /** Global rank the launcher gave this process (a preference: the coordinator assigns ranks). */
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** `host:port` for gRPC (IPv6 literals bracketed). */
  coordinator: string;
  /** LOCAL_RANK when torchrun set it (which GPU on this host), else null. */
  localRank: number | null;
}

const REQUIRED = ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'] as const;

function nonEmpty(env: EnvRecord, key: string): string | undefined {
  const v = env[key]?.trim();
  return v ? v : undefined;
}

function integer(env: EnvRecord, key: string, min: number, max: number): number {
  const raw = nonEmpty(env, key) as string;
  if (!/^\d+$/.test(raw)) throw new TorchEnvError(`${key}='${env[key]}' is not a non-negative integer`);
  const n = Number(raw);
  if (n < min || n > max) throw new TorchEnvError(`${key}=${n} is outside [${min}, ${max}]`);
  return n;
}

/** `host:port`, bracketing IPv6 literals so gRPC can parse the target. */
export function joinHostPort(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * Reads the torchrun variables. Returns null when none of them is set (not launched that
 * way); throws TorchEnvError naming the variables when only some are set or a value is bad,
 * because a half-configured launcher is a deployment mistake, not a reason to guess.
 */
export function parseTorchEnv(env: EnvRecord): TorchEnv | null {
  const present = REQUIRED.filter((k) => nonEmpty(env, k) !== undefined);
  if (present.length === 0) return null;
  const missing = REQUIRED.filter((k) => !present.includes(k));
  if (missing.length) {
    throw new TorchEnvError(
      `torchrun-style launch is incomplete: ${present.join(', ')} set but ${missing.join(', ')} missing ` +
        `(set all four, or pass --coordinator HOST:PORT instead)`,
    );
  }
  const worldSize = integer(env, 'WORLD_SIZE', 1, 1 << 20);
  const rank = integer(env, 'RANK', 0, worldSize - 1);
  const masterPort = integer(env, 'MASTER_PORT', 1, 65535);
  const masterAddr = nonEmpty(env, 'MASTER_ADDR') as string;
  if (/\s|\//.test(masterAddr)) throw new TorchEnvError(`MASTER_ADDR='${masterAddr}' is not a host name or address`);
  const localRank = nonEmpty(env, 'LOCAL_RANK') === undefined ? null : integer(env, 'LOCAL_RANK', 0, 1 << 16);
  return { rank, worldSize, masterAddr, masterPort, coordinator: joinHostPort(masterAddr, masterPort), localRank };
}

export interface CoordinatorTarget {
  coordinator: string;
  /** Where the address came from, for the startup log line. */
  source: '--coordinator' | 'torchrun env';
  /** Launcher-provided rank/world, when the torchrun variables were used (hints for Join). */
  torch: TorchEnv | null;
}

/**
 * The worker's coordinator address: `--coordinator` wins when given (the torchrun variables
 * are still validated and passed along as hints); otherwise MASTER_ADDR:MASTER_PORT.
 */
export function resolveCoordinatorTarget(flag: string | undefined, env: EnvRecord): CoordinatorTarget {
  const torch = parseTorchEnv(env);
  if (flag !== undefined && flag.trim() !== '') return { coordinator: flag.trim(), source: '--coordinator', torch };
  if (torch) return { coordinator: torch.coordinator, source: 'torchrun env', torch };
  throw new TorchEnvError(
    'no coordinator address: pass --coordinator HOST:PORT, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT',
  );
}
