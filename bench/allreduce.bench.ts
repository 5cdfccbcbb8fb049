// Ring all-reduce over gRPC vs its references, in ONE run on this machine:
//   ring  — src/comm, one process per rank (ring I/O in a worker thread, like the worker process)
//   tcp   — a raw TCP pump between two Node processes (what one loopback link can carry)
//   gloo  — PyTorch's gloo all-reduce (Debian python3-torch via /usr/bin/python3), if installed
// Prints time, algbw = S/t, busbw = algbw·2(n−1)/n (nccl-tests definitions), wrong elements,
// and the ring's busbw as a ratio to gloo's.
//
//   npm run bench:allreduce -- [--quick] [--sizes 1,16,64,256] [--n 2,4] [--iters 3]
//        [--wire f32|f16|bf16] [--chunk-mb 1] [--window-mb 32] [--mode thread|inline] [--impl ring,tcp,gloo]
//        [--malloc tuned|system]
import { fork, spawn, spawnSync } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RingThread } from '../src/comm/ring-thread.js';
import { PeerServer } from '../src/comm/peer-server.js';
import { RingCommunicator } from '../src/comm/ring-communicator.js';
import type { AllReducer, RingConfig } from '../src/comm/allreduce-types.js';
import { RING_PROCESS_ENV } from '../src/comm/process-env.js';

const SELF = fileURLToPath(import.meta.url);
const GLOO_SCRIPT = fileURLToPath(new URL('./reference/gloo_allreduce.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const MB = 1 << 20;

/**
 * glibc returns large freed blocks to the kernel (mmap/trim), so every fresh gRPC frame buffer
 * is page-faulted in again; in this VM a fault costs ~15 µs, i.e. ~5× the cost of the copy
 * itself. Keeping freed memory in the heap removes that (see RING_PROCESS_ENV in src/comm).
 * --malloc default keeps them; --malloc system measures without.
 */

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    n: { type: 'string', default: '2,4' },
    iters: { type: 'string' },
    wire: { type: 'string', default: 'f32' },
    'chunk-mb': { type: 'string', default: '1' },
    'window-mb': { type: 'string', default: '32' },
    mode: { type: 'string', default: 'thread' },
    impl: { type: 'string', default: 'ring,tcp,gloo' },
    malloc: { type: 'string', default: 'tuned' },
    child: { type: 'string' }, // internal: run as one ring rank
  },
});

const fillData = (buf: Float32Array, rank: number, step: number) => {
  for (let i = 0; i < buf.length; i++) buf[i] = ((i * 7 + rank * 13 + step) % 2001) - 1000;
};
const countWrong = (buf: Float32Array, n: number, step: number) => {
  let wrong = 0;
  for (let i = 0; i < buf.length; i++) {
    let want = 0;
    for (let r = 0; r < n; r++) want += ((i * 7 + r * 13 + step) % 2001) - 1000;
    if (buf[i] !== want) wrong++;
  }
  return wrong;
};

// ---- one ring rank (child process) ------------------------------------------------------------

type ToChild = { type: 'configure'; config: Omit<RingConfig, 'transport'> } | { type: 'run'; bytes: number; iter: number; warm: boolean } | { type: 'verify'; bytes: number; iter: number } | { type: 'exit' };
type FromChild = { type: 'listening'; address: string } | { type: 'configured' } | { type: 'ran'; ms: number; cpuMs: number; copied: number; inPlace: number } | { type: 'verified'; wrong: number };

async function child(opts: { mode: string; maxBytes: number; chunkBytes: number; windowBytes: number }): Promise<void> {
  const transport = { flowControlWindow: opts.windowBytes, maxMessageBytes: Math.max(64 * MB, opts.chunkBytes * 2) };
  let reducer: AllReducer;
  let thread: RingThread | null = null;
  let server: PeerServer | null = null;
  if (opts.mode === 'thread') {
    thread = await RingThread.start({ transport });
    process.send!({ type: 'listening', address: thread.address } satisfies FromChild);
  } else {
    server = await PeerServer.listen('127.0.0.1', 0, { ...transport });
    process.send!({ type: 'listening', address: server.address } satisfies FromChild);
  }
  const store = thread ? new Float32Array(new SharedArrayBuffer(opts.maxBytes + 4)) : new Float32Array(opts.maxBytes / 4 + 1);
  let step = 0;
  let world = 1;
  process.on('message', async (m: ToChild) => {
    if (m.type === 'configure') {
      world = m.config.worldSize;
      if (thread) {
        await thread.configure(m.config);
        reducer = thread;
      } else {
        reducer = new RingCommunicator(server!, { ...m.config, transport });
      }
      process.send!({ type: 'configured' } satisfies FromChild);
    } else if (m.type === 'run') {
      const buf = store.subarray(0, m.bytes / 4);
      fillData(buf, reducer.rank, m.iter);
      await reducer.allReduce(store.subarray(store.length - 1), { step: ++step, layoutHash: 'bench' }); // barrier (spare element)
      const t0 = performance.now();
      const cpu0 = process.cpuUsage(); // whole process: main + ring thread
      const res = await reducer.allReduce(buf, { step: ++step, layoutHash: 'bench' });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      process.send!({ type: 'ran', ms, cpuMs: (cpu.user + cpu.system) / 1000, ...res.payloadViews } satisfies FromChild);
    } else if (m.type === 'verify') {
      const wrong = countWrong(store.subarray(0, m.bytes / 4), world, m.iter);
      process.send!({ type: 'verified', wrong } satisfies FromChild);
    } else {
      await thread?.close();
      await server?.close(100);
      process.exit(0);
    }
  });
}

// ---- parent: ring ------------------------------------------------------------------------------

interface Row {
  n: number;
  bytes: number;
  impl: string;
  ms: number;
  /** CPU time of all ranks together for one all-reduce (less sensitive than wall time to other load). */
  cpuMs: number;
  wrong: number | null;
  note?: string;
}

async function benchRing(n: number, sizes: number[], iters: number, o: { mode: string; wire: string; chunkBytes: number; windowBytes: number }): Promise<Row[]> {
  const maxBytes = Math.max(...sizes);
  const procs = Array.from({ length: n }, () =>
    fork(SELF, ['--child', JSON.stringify({ mode: o.mode, maxBytes, chunkBytes: o.chunkBytes, windowBytes: o.windowBytes })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: childEnv() }),
  );
  const inbox = procs.map(() => [] as FromChild[]);
  const wake = procs.map(() => [] as (() => void)[]);
  procs.forEach((p, i) => p.on('message', (m: FromChild) => { inbox[i].push(m); wake[i].splice(0).forEach((w) => w()); }));
  const next = async <T extends FromChild['type']>(i: number, type: T): Promise<Extract<FromChild, { type: T }>> => {
    for (;;) {
      const k = inbox[i].findIndex((m) => m.type === type);
      if (k >= 0) return inbox[i].splice(k, 1)[0] as Extract<FromChild, { type: T }>;
      if (procs[i].exitCode !== null) throw new Error(`ring rank ${i} exited with ${procs[i].exitCode}`);
      await new Promise<void>((r) => { wake[i].push(r); setTimeout(r, 500); });
    }
  };
  const all = <T extends FromChild['type']>(type: T) => Promise.all(procs.map((_, i) => next(i, type)));
  const rows: Row[] = [];
  try {
    const peers = (await all('listening')).map((m) => m.address);
    procs.forEach((p, rank) => p.send({ type: 'configure', config: { rank, worldSize: n, generation: 1, peers, wire: o.wire as 'f32', chunkBytes: o.chunkBytes, timeoutMs: 600_000 } } satisfies ToChild));
    await all('configured');
    for (const bytes of sizes) {
      const times: number[] = [];
      const cpus: number[] = [];
      let copied = 0;
      let inPlace = 0;
      for (let it = 0; it <= iters; it++) {
        procs.forEach((p) => p.send({ type: 'run', bytes, iter: it, warm: it === 0 } satisfies ToChild));
        const ran = await all('ran');
        if (it > 0) times.push(Math.max(...ran.map((m) => m.ms)));
        if (it > 0) cpus.push(ran.reduce((a, m) => a + m.cpuMs, 0));
        copied += ran.reduce((a, m) => a + m.copied, 0);
        inPlace += ran.reduce((a, m) => a + m.inPlace, 0);
      }
      procs.forEach((p) => p.send({ type: 'verify', bytes, iter: iters } satisfies ToChild));
      const v = await all('verified');
      const wrong = o.wire === 'f32' ? v.reduce((a, m) => a + m.wrong, 0) : null;
      const note = `received payloads read in place ${inPlace}, via an aligned copy ${copied}`;
      rows.push({ n, bytes, impl: `grpc ring (${o.wire}, ${o.mode})`, ms: median(times), cpuMs: median(cpus), wrong, note });
      report(rows.at(-1)!);
    }
  } finally {
    procs.forEach((p) => p.send({ type: 'exit' } satisfies ToChild));
    setTimeout(() => procs.forEach((p) => p.kill('SIGKILL')), 5000).unref();
  }
  return rows;
}

/** Same environment for every measured process (ring ranks, TCP pump, gloo ranks). */
function childEnv(): NodeJS.ProcessEnv {
  return args.malloc === 'system' ? process.env : { ...process.env, ...RING_PROCESS_ENV };
}

// ---- parent: raw TCP pump ----------------------------------------------------------------------

async function tcpPump(bytes: number): Promise<number> {
  const recvCode = `const net=require('net');const s=net.createServer((c)=>{let n=0;c.on('data',(d)=>{n+=d.length;if(n>=${bytes}){c.end('k');s.close();}});});s.listen(0,'127.0.0.1',()=>process.send(s.address().port));`;
  const rx = spawn(process.execPath, ['-e', recvCode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: childEnv() });
  const port = await new Promise<number>((r) => rx.once('message', (p) => r(p as number)));
  const chunk = Buffer.alloc(4 * MB, 1);
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    sock.once('data', () => resolve());
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once('drain', pump);
      }
    };
    pump();
  });
  const ms = performance.now() - t0;
  sock.destroy();
  rx.kill();
  return ms;
}

// ---- parent: gloo ------------------------------------------------------------------------------

function glooAvailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torch.distributed as d; assert d.is_gloo_available(); print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function benchGloo(n: number, sizes: number[], iters: number): Promise<Row[]> {
  const port = await freePort();
  const sizesMb = sizes.map((b) => b / MB).join(',');
  const procs = Array.from({ length: n }, (_, rank) =>
    spawn(PYTHON, [GLOO_SCRIPT, '--rank', String(rank), '--world', String(n), '--port', String(port), '--sizes-mb', sizesMb, '--iters', String(iters)], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() }),
  );
  let out = '';
  procs[0].stdout!.on('data', (d) => (out += d));
  procs.slice(1).forEach((p) => p.stdout!.resume());
  await Promise.all(procs.map((p) => new Promise((r) => p.once('exit', r))));
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const j = JSON.parse(line) as { size_bytes: number; ms: number; cpu_ms: number; wrong: number };
    const row = { n, bytes: j.size_bytes, impl: 'gloo (torch)', ms: j.ms, cpuMs: j.cpu_ms, wrong: j.wrong };
    report(row);
    return row;
  });
}

// ---- output ------------------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const algbw = (r: Row) => r.bytes / (r.ms / 1000) / 1e9;
const busbw = (r: Row) => (algbw(r) * 2 * (r.n - 1)) / r.n;
function report(r: Row): void {
  console.error(`  measured n=${r.n} ${(r.bytes / MB).toFixed(0)} MB ${r.impl}: ${r.ms.toFixed(1)} ms, busbw ${busbw(r).toFixed(3)} GB/s, cpu ${r.cpuMs.toFixed(0)} ms`);
}

async function main(): Promise<void> {
  if (args.child) return child(JSON.parse(args.child));
  const sizes = (args.sizes ?? (args.quick ? '1,16' : '1,16,64,256')).split(',').map((s) => Math.round(Number(s) * MB));
  const ns = args.n!.split(',').map(Number);
  const iters = Number(args.iters ?? (args.quick ? 2 : 3));
  const impls = new Set(args.impl!.split(','));
  const chunkBytes = Math.round(Number(args['chunk-mb']) * MB);
  const windowBytes = Math.round(Number(args['window-mb']) * MB);
  const torch = impls.has('gloo') ? glooAvailable() : null;
  console.log(`# all-reduce bench: sizes ${sizes.map((b) => b / MB).join(',')} MB, n ${ns.join(',')}, ${iters} timed iterations (median; time = slowest rank), wire ${args.wire}, chunk ${chunkBytes / MB} MiB, HTTP/2 window ${windowBytes / MB} MiB, ring I/O ${args.mode === 'thread' ? 'in a worker thread' : 'on the main thread'}, malloc ${args.malloc === 'system' ? 'as the system sets it' : `tuned for every measured process (${RING_PROCESS_ENV.GLIBC_TUNABLES})`}`);
  if (impls.has('gloo')) console.log(torch ? `# gloo reference: torch ${torch} via ${PYTHON}` : `# gloo reference: SKIPPED — ${PYTHON} has no torch (apt-get install -y python3-torch to include it)`);
  const rows: Row[] = [];
  if (impls.has('tcp')) {
    const bytes = Math.max(...sizes, 64 * MB);
    const ms = median([await tcpPump(bytes), await tcpPump(bytes), await tcpPump(bytes)]);
    console.log(`# raw TCP pump, one loopback link between two Node processes: ${(bytes / (ms / 1000) / 1e9).toFixed(2)} GB/s (${bytes / MB} MB in ${ms.toFixed(0)} ms)`);
  }
  for (const n of ns) {
    if (impls.has('ring')) rows.push(...(await benchRing(n, sizes, iters, { mode: args.mode!, wire: args.wire!, chunkBytes, windowBytes })));
    if (torch) rows.push(...(await benchGloo(n, sizes, iters)));
  }
  console.log('\n| n | size | implementation | time ms | algbw GB/s | busbw GB/s | wrong | busbw / gloo | CPU ms (all ranks) | CPU / gloo CPU |');
  console.log('|---|------|----------------|---------|------------|------------|-------|--------------|--------------------|----------------|');
  for (const r of rows) {
    const g = rows.find((x) => x.impl.startsWith('gloo') && x.n === r.n && x.bytes === r.bytes);
    const ratio = g ? (busbw(r) / busbw(g)).toFixed(2) + '×' : 'n/a';
    const cpuRatio = g ? (r.cpuMs / g.cpuMs).toFixed(2) + '×' : 'n/a';
    console.log(`| ${r.n} | ${r.bytes / MB} MB | ${r.impl} | ${r.ms.toFixed(1)} | ${algbw(r).toFixed(3)} | ${busbw(r).toFixed(3)} | ${r.wrong ?? 'n/a (lossy wire)'} | ${ratio} | ${r.cpuMs.toFixed(0)} | ${cpuRatio} |`);
  }
  console.log('\n# busbw / gloo ≥ 1 means the gRPC ring is at least as fast. Wall times on a shared 2-core machine swing with other load; the CPU column (time all rank processes spent) is the steadier comparison.');
  const notes = rows.filter((r) => r.note);
  if (notes.length) console.log(`\n# alignment of received payloads (last size): ${notes.at(-1)!.note}`);
}

await main();
