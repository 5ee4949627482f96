#!/usr/bin/python3
"""Replays an `anatomy train` run of a nanoGPT in PyTorch (Debian's python3-torch, float32): the same
initial weights (the model folder anatomy fine-tuned from), the same batches (the offsets anatomy
wrote with --dump-batches), the same optimizer, schedule and parameter groups; prints the final
training and validation loss and the tokens/s as one JSON line.

usage: torch_recipe.py MODEL_DIR DATA BATCHES_JSONL THREADS OPTIMIZER LR STEPS BATCH BLOCK
                       WEIGHT_DECAY BETA1 BETA2 SCHEDULE WARMUP MIN_LR
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

(model_dir, data_path, batches_path, threads, optimizer, lr, steps, batch, block, wd, beta1, beta2, schedule, warmup,
 min_lr) = sys.argv[1:16]
threads, steps, batch, block, warmup = int(threads), int(steps), int(batch), int(block), int(warmup)
lr, wd, beta1, beta2, min_lr = float(lr), float(wd), float(beta1), float(beta2), float(min_lr)
torch.set_num_threads(threads)
cfg = json.load(open(f"{model_dir}/config.json"))
chars = json.load(open(f"{model_dir}/vocab.json"))
C, L, H, V = cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg["vocab_size"]
tied, head_bias = cfg.get("tie_word_embeddings", True), cfg.get("lm_head_bias", False)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header, data = json.loads(f.read(n)), f.read()
    return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
                                .reshape(v["shape"]).copy()) for k, v in header.items() if k != "__metadata__"}


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in self.c_attn(x).split(C, 2))
        a = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        a = a.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        return self.c_proj((a @ v).transpose(1, 2).reshape(b, t, C))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc, self.c_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.attn, self.ln_2, self.mlp = nn.LayerNorm(C), Attn(), nn.LayerNorm(C), Mlp()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(V, C), wpe=nn.Embedding(cfg["block_size"], C),
                                              h=nn.ModuleList([Block() for _ in range(L)]), ln_f=nn.LayerNorm(C)))
        self.lm_head = nn.Linear(C, V, bias=head_bias)
        if tied:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx, y):
        t = self.transformer
        x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
        for blk in t.h:
            x = blk(x)
        return F.cross_entropy(self.lm_head(t.ln_f(x)).view(-1, V), y.view(-1))


model = GPT()
state = read_safetensors(f"{model_dir}/model.safetensors")
if tied:
    state["lm_head.weight"] = state["transformer.wte.weight"]
model.load_state_dict(state, strict=True)
params = list(dict.fromkeys(model.parameters()))
groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
          {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
opt = (torch.optim.SGD(groups, lr=lr) if optimizer == "sgd"
       else torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=1e-8))

stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in open(data_path, encoding="utf-8").read()])
train, val = ids[: len(ids) * 9 // 10], ids[len(ids) * 9 // 10:]
lines = [json.loads(line) for line in open(batches_path)]
by_step = {}
for line in lines:
    if line["split"] == "train":
        by_step.setdefault(line["step"], []).append(line["offsets"])
validation = [line["offsets"] for line in lines if line["split"] == "validation"]


def rows(source, offsets):
    return (torch.stack([source[o:o + block] for o in offsets]), torch.stack([source[o + 1:o + block + 1] for o in offsets]))


def lr_at(step):
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant":
        return lr
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (steps - warmup))))


t0 = time.perf_counter()
for step in range(steps):
    opt.zero_grad(set_to_none=True)
    micro = by_step[step]
    total = 0.0
    for offsets in micro:
        loss = model(*rows(train, offsets))
        (loss / len(micro)).backward()
        total += loss.item() / len(micro)
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    opt.step()
seconds = time.perf_counter() - t0
with torch.no_grad():
    val_loss = sum(model(*rows(val, o)).item() for o in validation) / len(validation)
print(json.dumps({"engine": f"PyTorch {torch.__version__}", "train_loss": total, "val_loss": val_loss,
                  "tokens_per_s": steps * sum(len(m) for m in by_step.values()) / len(by_step) * batch * block / seconds}))
