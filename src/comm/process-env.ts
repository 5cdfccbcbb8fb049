// Environment a process running the ring should be STARTED with (glibc reads it at exec).
//
// Measured here (a VM): every gRPC message gets a freshly allocated frame buffer on send and a
// fresh concatenation buffer on receive (inside grpc-js). glibc serves blocks ≥128 KiB with
// mmap and gives them back on free, so each new buffer is page-faulted in again, and a fault
// costs ~15 µs here: copying 256 MB into fresh 1 MiB buffers took 55–295 ms of CPU, into a
// reused one 7 ms. Raising the mmap threshold and the trim threshold keeps freed blocks in
// the heap: the same loop then costs ~11 ms, and a 64 MB n=2 ring all-reduce ~20% less CPU.
// Whoever spawns workers (cli, Dockerfile, compose, k8s manifests) should set this.
export const RING_PROCESS_ENV: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456',
};

/** True when this process was started with the tuned allocator settings. */
export function hasRingProcessEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GLIBC_TUNABLES?.includes('glibc.malloc.mmap_threshold=') ?? false;
}
