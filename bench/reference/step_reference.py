#!/usr/bin/env python3
"""PyTorch reference for `npm run bench:step`: one forward+backward of MiT-B0 + DAFormer
head (sep-ASPP fusion) on a 2x3x128x128 batch, same shapes, same loss, same train mode
(BatchNorm batch statistics, DropPath, Dropout2d) as bench/step.bench.ts.

Written for this benchmark (minimal: no weight names, no init schemes beyond defaults);
it only has to cost what the real network costs.

Usage: python3 step_reference.py --threads N --warmup W --steps S
Prints one JSON line: {"torch": version, "threads": N, "ms": [per-step wall ms],
"cpu_ms": [per-step process CPU ms], "blas": "..."}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device) >= self.p
        return x * keep / (1 - self.p)


class Attention(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.heads, self.sr_ratio = heads, sr
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x, h, w):
        b, n, c = x.shape
        d = c // self.heads
        q = self.q(x).reshape(b, n, self.heads, d).permute(0, 2, 1, 3)
        src = x
        if self.sr_ratio > 1:
            g = x.permute(0, 2, 1).reshape(b, c, h, w)
            src = self.norm(self.sr(g).reshape(b, c, -1).permute(0, 2, 1))
        kv = self.kv(src).reshape(b, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class MixFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, h, w):
        b, n, _ = x.shape
        y = self.fc1(x)
        y = self.dwconv(y.transpose(1, 2).reshape(b, -1, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(y))


class Block(nn.Module):
    def __init__(self, dim, heads, sr, dp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MixFFN(dim, 4 * dim)
        self.drop_path = DropPath(dp)

    def forward(self, x, h, w):
        x = x + self.drop_path(self.attn(self.norm1(x), h, w))
        return x + self.drop_path(self.mlp(self.norm2(x), h, w))


class MiT(nn.Module):
    def __init__(self, dims=(32, 64, 160, 256), depths=(2, 2, 2, 2), heads=(1, 2, 5, 8), srs=(8, 4, 2, 1), dpr=0.1):
        super().__init__()
        total = sum(depths)
        rates = torch.linspace(0, dpr, total).tolist()
        self.embeds, self.stages, self.norms = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        k = 0
        for i, dim in enumerate(dims):
            cin = 3 if i == 0 else dims[i - 1]
            ks, st = (7, 4) if i == 0 else (3, 2)
            self.embeds.append(nn.ModuleDict({"proj": nn.Conv2d(cin, dim, ks, st, ks // 2), "norm": nn.LayerNorm(dim)}))
            self.stages.append(nn.ModuleList([Block(dim, heads[i], srs[i], rates[k + j]) for j in range(depths[i])]))
            self.norms.append(nn.LayerNorm(dim, eps=1e-6))
            k += depths[i]

    def forward(self, x):
        outs = []
        for embed, blocks, norm in zip(self.embeds, self.stages, self.norms):
            y = embed["proj"](x)
            b, c, h, w = y.shape
            t = embed["norm"](y.flatten(2).transpose(1, 2))
            for blk in blocks:
                t = blk(t, h, w)
            x = norm(t).reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()
            outs.append(x)
        return outs


def conv_bn_relu(cin, cout, k, pad=0, dil=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, pad, dil, groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class DAFormerHead(nn.Module):
    def __init__(self, in_ch=(32, 64, 160, 256), embed=256, channels=256, classes=19, dilations=(1, 6, 12, 18)):
        super().__init__()
        self.embed = nn.ModuleList([nn.Linear(c, embed) for c in in_ch])
        fuse_in = embed * len(in_ch)
        branches = []
        for d in dilations:
            if d == 1:
                branches.append(conv_bn_relu(fuse_in, channels, 1))
            else:
                branches.append(nn.Sequential(conv_bn_relu(fuse_in, fuse_in, 3, d, d, groups=fuse_in), conv_bn_relu(fuse_in, channels, 1)))
        self.aspp = nn.ModuleList(branches)
        self.bottleneck = conv_bn_relu(len(dilations) * channels, channels, 3, 1)
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(channels, classes, 1)

    def forward(self, feats):
        size = feats[0].shape[2:]
        ys = []
        for f, lin in zip(feats, self.embed):
            b, c, h, w = f.shape
            e = lin(f.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, -1, h, w)
            ys.append(e if e.shape[2:] == size else F.interpolate(e, size=size, mode="bilinear", align_corners=False))
        x = torch.cat(ys, 1)
        x = self.bottleneck(torch.cat([br(x) for br in self.aspp], 1))
        return self.conv_seg(self.dropout(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)  # PyTorch's default here is 1: always set explicitly
    torch.manual_seed(0)
    backbone, head = MiT(), DAFormerHead()
    backbone.train()
    head.train()
    params = list(backbone.parameters()) + list(head.parameters())
    x = torch.randn(a.batch, 3, a.size, a.size)

    def step():
        for p in params:
            p.grad = None
        logits = head(backbone(x))
        loss = (logits * logits).mean()  # same loss as the TF.js side
        loss.backward()
        return float(loss)

    for _ in range(a.warmup):
        step()
    ms, cpu = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms": ms, "cpu_ms": cpu, "blas": loaded_blas()}))


def loaded_blas():
    """The BLAS/LAPACK shared libraries actually mapped into this process (LD_LIBRARY_PATH may swap them)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "lapack" in line.lower()}
        return sorted(libs)
    except OSError:
        return []


if __name__ == "__main__":
    main()
