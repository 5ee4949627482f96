#!/usr/bin/python3
"""PyTorch peer of `anatomy train`: a GPT (nanoGPT's model.py shape: pre-LN blocks, fused c_attn,
exact GELU, tied head, masked-softmax attention as nanoGPT runs without flash attention, which
torch 1.13 lacks) trained with torch.optim.SGD or AdamW on random batches of a character stream.
Prints the median step time after warm-up as one JSON line.

usage: torch_train.py THREADS LAYERS WIDTH HEADS BLOCK BATCH VOCAB OPTIMIZER STEPS
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads, L, C, H, T, B, V = (int(a) for a in sys.argv[1:8])
optimizer, steps = sys.argv[8], int(sys.argv[9])
torch.set_num_threads(threads)
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, 2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        a = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        a = a.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf")).softmax(-1)
        x = x + self.c_proj((a @ v).transpose(1, 2).reshape(b, t, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, y):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return F.cross_entropy(self.lm_head(self.ln_f(x)).view(-1, V), y.view(-1))


model = GPT()
opt = torch.optim.SGD(model.parameters(), lr=3e-4) if optimizer == "sgd" else torch.optim.AdamW(model.parameters(), lr=3e-4)
data = torch.randint(0, V, (200_000,))
times = []
for step in range(steps):
    ix = torch.randint(len(data) - T - 1, (B,))
    x, y = torch.stack([data[i:i + T] for i in ix]), torch.stack([data[i + 1:i + T + 1] for i in ix])
    t0 = time.perf_counter()
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    times.append(time.perf_counter() - t0)
warm = times[min(10, steps // 2):]
median = sorted(warm)[len(warm) // 2]
print(json.dumps({"engine": f"PyTorch {torch.__version__}", "step_ms": 1e3 * median, "tokens_per_s": B * T / median}))
