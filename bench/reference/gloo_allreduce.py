#!/usr/bin/env python3
"""PyTorch gloo all-reduce timing: the reference the gRPC ring is compared with.

Run one process per rank (the bench does this):
  /usr/bin/python3 bench/reference/gloo_allreduce.py --rank R --world N --port P --sizes-mb 1,16 --iters 5
Rank 0 prints one JSON line per size: {"size_bytes", "ms" (median of per-iteration max over
ranks), "cpu_ms" (median of per-iteration CPU time summed over ranks: process_time covers
gloo's threads), "wrong" (elements differing from the exact integer sum)}.
"""
import argparse
import json
import time

import torch
import torch.distributed as dist


def data(rank: int, numel: int, step: int) -> torch.Tensor:
    i = torch.arange(numel, dtype=torch.int64)
    return (((i * 7 + rank * 13 + step) % 2001) - 1000).to(torch.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--world", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sizes-mb", type=str, required=True)
    ap.add_argument("--iters", type=int, default=5)
    a = ap.parse_args()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{a.port}", rank=a.rank, world_size=a.world)
    for mb in [float(s) for s in a.sizes_mb.split(",")]:
        numel = int(mb * (1 << 20)) // 4
        step = 1
        base = data(a.rank, numel, step)
        x = base.clone()
        times, cpus = [], []
        for it in range(a.iters + 1):  # first iteration = warm-up
            x.copy_(base)
            dist.barrier()
            c0 = time.process_time()
            t0 = time.perf_counter()
            dist.all_reduce(x)
            dt = torch.tensor([time.perf_counter() - t0])
            cpu = torch.tensor([time.process_time() - c0])
            dist.all_reduce(dt, op=dist.ReduceOp.MAX)
            dist.all_reduce(cpu)
            if it:
                times.append(dt.item() * 1000)
                cpus.append(cpu.item() * 1000)
        want = sum(data(r, numel, step) for r in range(a.world))
        wrong = int((x != want).sum().item())
        wrong_t = torch.tensor([wrong])
        dist.all_reduce(wrong_t)
        times.sort()
        cpus.sort()
        if a.rank == 0:
            print(json.dumps({"size_bytes": numel * 4, "ms": times[len(times) // 2], "cpu_ms": cpus[len(cpus) // 2], "wrong": int(wrong_t.item())}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
