// `npm run bench:step`: ms per training step (forward + backward) of MiT-B0 + DAFormer head
// (sep-ASPP) on a 2×3×128×128 batch, for every TF.js backend that loads here and for the
// same network in PyTorch (bench/reference/step_reference.py under /usr/bin/python3), in
// one run. Prints backend | threads | ms/step | ratio vs PyTorch at the same thread count.
//
// Each measurement runs in its own child process (clean heap, clean CPU accounting):
// warm-up steps, then the median of N timed steps. Wall time is the headline; process CPU
// time is printed too because on a shared 2-core machine wall time also counts waiting.
//
// Flags: --steps N (5) --warmup N (2) --levers (also time what each wasm speed-up buys:
// steps alternating without/with it in one process) --fetch-openblas (apt-get download libopenblas0-openmp into a scratch folder
// when missing) --cpu (also time the pure-JS backend: ~90 s per step, so 1 step only)
// --no-dp (skip 2 processes × wasm).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { rngFor } from '../src/common/random.js';
import { selectBackend, type BackendName } from '../src/model/backend.js';
import { DaformerHead } from '../src/model/heads/daformer-head.js';
import { MIT_PRESETS } from '../src/model/mit/mit-config.js';
import { MixVisionTransformer } from '../src/model/mit/mix-vision-transformer.js';
import { ParamRegistry, ParamStore } from '../src/model/params.js';
import { registerWasmTrainingKernels, WASM_SPEEDUPS, type WasmTrainingKernelOptions } from '../src/model/wasm/register.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REFERENCE = join(HERE, 'reference', 'step_reference.py');
const PYTHON = '/usr/bin/python3';
const OPENBLAS_DIR = process.env.PIPA_OPENBLAS_DIR ?? '/tmp/pipa-openblas/root/usr/lib/x86_64-linux-gnu/openblas-openmp';
const [BATCH, SIZE] = [2, 128];

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const num = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};

interface Timing {
  label: string;
  threads: number;
  ms: number[];
  cpuMs: number[];
  /** epoch ms of the timed region (for the two-process throughput). */
  span?: [number, number];
  note?: string;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Levers that can be switched off, in the order they were added. */
const LEVERS: Array<[keyof WasmTrainingKernelOptions, string]> = [
  ['fastMatMul', 'fast-path BatchMatMul (explicit transposes, per group)'],
  ['fastConvInputGrad', 'Conv2DBackpropInput as a forward conv'],
  ['fastSlice', 'Slice/SplitV via heap views'],
  ['fastReduce', 'leading-axis Sum/Mean as column sums'],
  ['sharedIdentity', 'Identity sharing memory'],
];

// ---------------------------------------------------------------- worker (one backend)
type Step = (i: number) => Promise<void>;

/** The benchmarked network and one training step (forward + backward, grads read back). */
function buildStep(): Step {
  const reg = new ParamRegistry();
  const mit = new MixVisionTransformer(reg.scope('backbone'), MIT_PRESETS.b0);
  const head = new DaformerHead(reg.scope('decode_head'), {
    inChannels: mit.stageChannels,
    embedDims: 256,
    channels: 256,
    numClasses: 19,
    dropoutRatio: 0.1,
    fusion: { kind: 'sepAspp', dilations: [1, 6, 12, 18] },
  });
  const store = new ParamStore(reg.specs, 0);
  const vars = store.trainable().map(([, v]) => v);
  const x = tf.randomNormal([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  return async (i: number) => {
    const { value, grads } = tf.variableGrads(() => {
      const mode = { bn: 'batch' as const, stochastic: true, rng: rngFor(0, 'bench-step', i) };
      const logits = head.forward(store, mit.forward(store, x, mode), mode);
      return tf.mean(tf.square(logits)) as tf.Scalar; // same loss as the PyTorch reference
    }, vars);
    await value.data();
    for (const g of Object.values(grads)) await g.data();
    tf.dispose([value, grads]);
  };
}

async function timeSteps(step: Step, first: number, steps: number): Promise<{ ms: number[]; cpuMs: number[] }> {
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await step(first + i);
    ms.push(performance.now() - w0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { ms, cpuMs };
}

async function worker(backend: string, warmup: number, steps: number): Promise<Timing> {
  await selectBackend(backend as BackendName); // wasm: registers the training kernels
  const threads = tf.getBackend() === 'wasm' ? (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount() : 1;
  const step = buildStep();
  for (let i = 0; i < warmup; i++) await step(i);
  const t0 = Date.now();
  const { ms, cpuMs } = await timeSteps(step, warmup, steps);
  return { label: `tfjs ${tf.getBackend()}`, threads, ms, cpuMs, span: [t0, Date.now()] };
}

/**
 * What each wasm speed-up buys: in ONE process, steps alternate between the kernel set
 * without the lever and with it (off, on, off, on, …), so load drift on a shared machine
 * hits both sides alike. "all" switches every replacement at once (off = only the
 * kernels wasm lacks, i.e. the plain port that can train).
 */
async function leverWorker(pairs: number): Promise<Timing[]> {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  registerWasmTrainingKernels(Object.fromEntries(LEVERS.map(([k]) => [k, false]))); // missing kernels only
  const groups = LEVERS.map(([option, what]) => {
    const fast = WASM_SPEEDUPS.filter((r) => r.option === option).map((r) => r.build());
    const original = fast.map((c) => tf.getKernel(c.kernelName, 'wasm'));
    return { what, fast, original };
  });
  const install = (cfgs: ReadonlyArray<tf.KernelConfig | undefined>, names: string[]) =>
    names.forEach((name, i) => {
      if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
      if (cfgs[i]) tf.registerKernel(cfgs[i]!);
    });
  const setAll = (on: boolean) => groups.forEach((g) => install(on ? g.fast : g.original, g.fast.map((c) => c.kernelName)));
  const step = buildStep();
  setAll(true);
  await step(0);
  const out: Timing[] = [];
  const cases = [...groups.map((g) => ({ label: g.what, toggle: (on: boolean) => install(on ? g.fast : g.original, g.fast.map((c) => c.kernelName)) })), { label: 'all speed-ups', toggle: setAll }];
  let i = 1;
  for (const c of cases) {
    const n = c.label === 'all speed-ups' ? Math.max(1, pairs - 1) : pairs;
    const side = { off: { ms: [] as number[], cpuMs: [] as number[] }, on: { ms: [] as number[], cpuMs: [] as number[] } };
    for (let k = 0; k < n; k++) {
      for (const on of [false, true]) {
        c.toggle(on);
        const t = await timeSteps(step, i++, 1);
        side[on ? 'on' : 'off'].ms.push(...t.ms);
        side[on ? 'on' : 'off'].cpuMs.push(...t.cpuMs);
      }
    }
    setAll(true);
    out.push({ label: `without ${c.label}`, threads: 1, ...side.off }, { label: `with ${c.label}`, threads: 1, ...side.on });
  }
  return out;
}

// ---------------------------------------------------------------- children
function spawnWorker(backend: string, warmup: number, steps: number, extra: string[] = []): Promise<Timing | Timing[] | string> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--worker', backend, '--warmup', String(warmup), '--steps', String(steps), ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"label"') || l.startsWith('[{"label"'));
      const why = err.split('\n').filter((l) => /^\w*Error: /.test(l)).pop() ?? err.slice(-300);
      done(line ? (JSON.parse(line) as Timing | Timing[]) : `exit ${code}: ${why.trim()}`);
    });
  });
}

function torchAvailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function fetchOpenBlas(): void {
  const root = resolve(OPENBLAS_DIR, '../../../../..');
  mkdirSync(root, { recursive: true });
  spawnSync('apt-get', ['download', 'libopenblas0-openmp'], { cwd: root, stdio: 'inherit' });
  for (const deb of readdirSync(root).filter((f) => f.endsWith('.deb'))) spawnSync('dpkg', ['-x', deb, join(root, 'root')], { cwd: root, stdio: 'inherit' });
}

function runTorch(threads: number, openblas: boolean, warmup: number, steps: number): Timing | string {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), ...(openblas ? { LD_LIBRARY_PATH: OPENBLAS_DIR } : {}) };
  const r = spawnSync(PYTHON, [REFERENCE, '--threads', String(threads), '--warmup', String(warmup), '--steps', String(steps)], { encoding: 'utf8', env, timeout: 300_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (!line) return `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`;
  const j = JSON.parse(line) as { torch: string; threads: number; ms: number[]; cpu_ms: number[]; blas: string[] };
  const blas = j.blas.some((l) => l.includes('openblas')) ? 'OpenBLAS' : 'Debian reference BLAS';
  return { label: `PyTorch ${j.torch} (${blas})`, threads: j.threads, ms: j.ms, cpuMs: j.cpu_ms };
}

// ---------------------------------------------------------------- report
function table(rows: Timing[], refs: Map<number, Timing>): void {
  const head = ['backend', 'threads', 'ms/step fwd+bwd (median)', 'CPU ms/step', 'ratio vs PyTorch (same threads)'];
  const lines = rows.map((r) => {
    const ref = refs.get(r.threads);
    const ratio = ref && !r.label.startsWith('PyTorch') ? `${(median(r.ms) / median(ref.ms)).toFixed(2)}× (CPU ${(median(r.cpuMs) / median(ref.cpuMs)).toFixed(2)}×)` : r.label.startsWith('PyTorch') ? (ref === r ? 'reference' : '') : 'n/a';
    return [r.label + (r.note ? ` ${r.note}` : ''), String(r.threads), median(r.ms).toFixed(0), median(r.cpuMs).toFixed(0), ratio];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(fmt(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  if (flag('worker')) {
    const t = flag('lever-pairs') ? await leverWorker(num('lever-pairs', 3)) : await worker(argv[argv.indexOf('--worker') + 1], num('warmup', 2), num('steps', 5));
    console.log(JSON.stringify(t));
    return;
  }
  const [warmup, steps] = [num('warmup', 2), num('steps', 5)];
  console.log(`bench:step — MiT-B0 + DAFormer head (sep-ASPP), batch ${BATCH}×3×${SIZE}×${SIZE}, forward+backward; ${warmup} warm-up + median of ${steps} steps`);
  const rows: Timing[] = [];
  const skipped: string[] = [];
  const record = (label: string, r: Timing | Timing[] | string) => (typeof r === 'string' ? skipped.push(`${label}: ${r}`) : rows.push(...(Array.isArray(r) ? r : [r])));
  const progress = (what: string) => process.stderr.write(`  … ${what} done\n`);

  for (const backend of ['tensorflow', 'wasm', ...(flag('cpu') ? ['cpu'] : [])]) {
    const slow = backend === 'cpu';
    record(`tfjs ${backend}`, await spawnWorker(backend, slow ? 0 : warmup, slow ? 1 : steps));
    progress(`tfjs ${backend}`);
  }
  if (!flag('cpu')) skipped.push('tfjs cpu: pure-JS backend takes ~90 s per step here; pass --cpu to time it (1 step)');
  if (!flag('no-dp') && rows.some((r) => r.label === 'tfjs wasm')) {
    // The project trains data-parallel: two 1-thread wasm processes on the two cores.
    const pair = await Promise.all([0, 1].map(() => spawnWorker('wasm', 1, 3)));
    if (pair.every((p) => typeof p !== 'string' && !Array.isArray(p))) {
      const [a, b] = pair as Timing[];
      const wall = Math.max(a.span![1], b.span![1]) - Math.min(a.span![0], b.span![0]);
      const perStep = wall / (a.ms.length + b.ms.length);
      rows.push({ label: 'tfjs wasm ×2 processes', threads: 2, ms: [perStep], cpuMs: [(median(a.cpuMs) + median(b.cpuMs)) / 2 / 2], note: '(throughput: batches of 2 per wall time)' });
    } else skipped.push(`wasm ×2 processes: ${pair.find((p) => typeof p === 'string')}`);
    progress('tfjs wasm ×2 processes');
  }

  const torch = torchAvailable();
  const refs = new Map<number, Timing>();
  if (!torch) {
    skipped.push(`PyTorch: ${PYTHON} has no torch (apt-get install python3-torch); TF.js timed without a reference`);
  } else {
    if (!existsSync(OPENBLAS_DIR) && flag('fetch-openblas')) fetchOpenBlas();
    const haveOpenBlas = existsSync(OPENBLAS_DIR);
    if (!haveOpenBlas) skipped.push(`PyTorch + OpenBLAS: ${OPENBLAS_DIR} missing (run with --fetch-openblas, or set PIPA_OPENBLAS_DIR)`);
    // Debian's reference BLAS is slow (~5 s/step): 2 steps at 1 thread, and at 2 threads
    // only when there is no OpenBLAS to compare with.
    for (const threads of [1, 2]) {
      if (threads === 1 || !haveOpenBlas) {
        const plain = runTorch(threads, false, 1, 2);
        record(`PyTorch ${threads} thread(s)`, plain);
        if (typeof plain !== 'string') refs.set(threads, plain);
        progress(`PyTorch ${threads} thread(s)`);
      }
      if (haveOpenBlas) {
        const fast = runTorch(threads, true, warmup, steps);
        record(`PyTorch+OpenBLAS ${threads} thread(s)`, fast);
        if (typeof fast !== 'string') refs.set(threads, fast); // the stronger reference wins
        progress(`PyTorch+OpenBLAS ${threads} thread(s)`);
      }
    }
  }
  table(rows, refs);
  for (const s of skipped) console.log(`skipped — ${s}`);
  console.log('ratio = TF.js ms / PyTorch ms at equal threads (OpenBLAS build when available); goal ≤ 2 with the best backend.');

  if (flag('levers')) {
    console.log('\nwasm levers — one process, steps alternating without/with each speed-up (the others on); "all speed-ups" off = only the kernels wasm lacks');
    const r = await spawnWorker('wasm', 0, 0, ['--lever-pairs', '3']);
    if (typeof r === 'string' || !Array.isArray(r)) console.log(`  failed: ${r}`);
    else table(r, refs);
  }
}

await main();
