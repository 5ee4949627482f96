#!/usr/bin/python3
"""Peer for bench_forward: PyTorch 1.13 eager on the same Llama-3.2-1B-shaped model (vocab
32000, random f32 weights, 2 threads): prefill of T tokens and decode steps with a KV cache,
medians after one warm-up. usage: torch_llama.py [threads] [T] [steps]
With $PEER_JSON=FILE the figures are also written there as an anatomy.bench/1 document (the subset
docs/bench.md describes), which `anatomy compare` reads beside anatomy's own."""
import json
import os
import platform
import sys
import time

import torch

threads, T, steps = (int(a) for a in (sys.argv[1:] + ["2", "128", "8"][len(sys.argv) - 1:]))
torch.set_num_threads(threads)
d, L, H, KV, hd, I, V = 2048, 16, 32, 8, 64, 8192, 32000
lin = lambda i, o: torch.nn.Linear(i, o, bias=False)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = lin(d, H * hd), lin(d, KV * hd), lin(d, KV * hd), lin(H * hd, d)
        self.g, self.u, self.dn = lin(d, I), lin(d, I), lin(I, d)
        self.n1, self.n2 = torch.ones(d), torch.ones(d)

    def forward(self, h, cache, past, freq):
        t = h.shape[1]
        x = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5) * self.n1
        q = self.q(x).view(1, t, H, hd)
        k = self.k(x).view(1, t, KV, hd)
        v = self.v(x).view(1, t, KV, hd)
        ang = (torch.arange(past, past + t)[:, None] * freq[None]).repeat(1, 2)
        rot = lambda z: z * ang.cos()[None, :, None] + torch.cat([-z[..., hd // 2:], z[..., :hd // 2]], -1) * ang.sin()[None, :, None]
        q, k = rot(q), rot(k)
        cache[0][:, past:past + t], cache[1][:, past:past + t] = k, v
        K = cache[0][:, :past + t].repeat_interleave(H // KV, 2)
        Vv = cache[1][:, :past + t].repeat_interleave(H // KV, 2)
        s = torch.einsum("bthd,bshd->bhts", q, K) / hd ** 0.5
        mask = torch.ones(t, past + t, dtype=torch.bool).triu(past + 1)
        s = s.masked_fill(mask, float("-inf")).softmax(-1)
        h = h + self.o(torch.einsum("bhts,bshd->bthd", s, Vv).reshape(1, t, H * hd))
        x = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5) * self.n2
        return h + self.dn(torch.nn.functional.silu(self.g(x)) * self.u(x))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, d)
        self.layers = torch.nn.ModuleList(Layer() for _ in range(L))
        self.head = lin(d, V)
        self.freq = 500000.0 ** (-torch.arange(0, hd, 2) / hd)

    def forward(self, ids, caches, past):
        h = self.emb(ids)
        for layer, c in zip(self.layers, caches):
            h = layer(h, c, past, self.freq)
        return self.head(h)


with torch.no_grad():
    m = Model()
    for p in m.parameters():
        p.normal_(0, 0.02)
    new_caches = lambda n: [(torch.zeros(1, n, KV, hd), torch.zeros(1, n, KV, hd)) for _ in range(L)]
    prefill = []
    for r in range(4):
        t0 = time.perf_counter()
        m(torch.zeros(1, T, dtype=torch.long), new_caches(T), 0)
        if r:
            prefill.append(time.perf_counter() - t0)
    caches = new_caches(16 + steps + 1)
    m(torch.zeros(1, 16, dtype=torch.long), caches, 0)
    decode = []
    for s in range(steps + 1):
        t0 = time.perf_counter()
        m(torch.zeros(1, 1, dtype=torch.long), caches, 16 + s)
        if s:
            decode.append(time.perf_counter() - t0)
    p, dd = sorted(prefill)[len(prefill) // 2], sorted(decode)[len(decode) // 2]
    flops = L * (2 * T * (d * H * hd + 2 * d * KV * hd + H * hd * d + 3 * d * I) + 4 * H * T * T * hd) + 2 * T * d * V
    print(f"| PyTorch {torch.__version__} F32 | prefill T={T}: {p:.2f} s, {T / p:.1f} tok/s, {flops / p / 1e9:.1f} GFLOP/s "
          f"| decode: {dd * 1e3:.1f} ms/token, {1 / dd:.2f} tok/s |")
    if os.environ.get("PEER_JSON"):
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
        with open(os.environ["PEER_JSON"], "w") as f:
            json.dump({"schema": "anatomy.bench/1", "engine": f"PyTorch {torch.__version__}", "model": "llama-3.2-1b shape (vocab 32000)",
                       "dtype": "F32", "device": "cpu", "threads": threads, "machine": {"cpu": cpu}, "warmup": 1,
                       "repeat": len(prefill), "prefill": [{"tokens": T, "batch": 1, "tok_per_s": T / p, "time_to_first_token_s": p}],
                       "decode": {"tokens": steps, "batch": 1, "tok_per_s": 1 / dd, "latency_median_ms": dd * 1e3}}, f, indent=2)
