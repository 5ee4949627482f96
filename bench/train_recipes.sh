#!/usr/bin/env bash
# Seed 001's recipe and an AdamW recipe for its model, each run by anatomy and replayed by PyTorch
# 1.13 from the same initial weights and the same batches (bench/peers/torch_recipe.py reads the
# offsets anatomy writes with --dump-batches). Model: nanoGPT, 4 layers, 64 wide, 4 heads, block 32,
# untied head with bias, the 65 characters of tiny-shakespeare. 2 threads.
# usage: bench/train_recipes.sh DATA [sgd|adamw|both]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bench/train_recipes.sh path/to/tinyshakespeare.txt [sgd|adamw|both]}
which=${2:-both}
work=build/bench-data/train-recipes
rm -rf "$work" && mkdir -p "$work/init"
# Initial weights as nanoGPT draws them (N(0, 0.02), residual projections scaled by 1/√(2·layers),
# zero biases, unit LayerNorms), written once for both engines.
/usr/bin/python3 - "$data" "$work/init" <<'PY'
import json, struct, sys
import numpy as np
data, out = sys.argv[1], sys.argv[2]
chars = sorted(set(open(data, encoding="utf-8").read()))
C, L, V, T = 64, 4, len(chars), 32
cfg = {"n_layer": L, "n_head": 4, "n_embd": C, "block_size": T, "bias": True, "dropout": 0.0, "vocab_size": V,
       "tie_word_embeddings": False, "lm_head_bias": True}
g = np.random.default_rng(1337)
W = {"transformer.wte.weight": g.normal(0, 0.02, (V, C)), "transformer.wpe.weight": g.normal(0, 0.02, (T, C))}
for i in range(L):
    p = f"transformer.h.{i}."
    for n in ("ln_1", "ln_2"):
        W[p + n + ".weight"], W[p + n + ".bias"] = np.ones(C), np.zeros(C)
    for n, shape, sd in (("attn.c_attn", (3 * C, C), 0.02), ("attn.c_proj", (C, C), 0.02 / (2 * L) ** 0.5),
                         ("mlp.c_fc", (4 * C, C), 0.02), ("mlp.c_proj", (C, 4 * C), 0.02 / (2 * L) ** 0.5)):
        W[p + n + ".weight"], W[p + n + ".bias"] = g.normal(0, sd, shape), np.zeros(shape[0])
W["transformer.ln_f.weight"], W["transformer.ln_f.bias"] = np.ones(C), np.zeros(C)
W["lm_head.weight"], W["lm_head.bias"] = g.normal(0, 0.02, (V, C)), np.zeros(V)
header, blobs, off = {}, [], 0
for k, v in W.items():
    b = v.astype(np.float32).tobytes()
    header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(f"{out}/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
json.dump(cfg, open(f"{out}/config.json", "w"))
json.dump(chars, open(f"{out}/vocab.json", "w"))
PY
recipe() {  # name optimizer lr steps weight_decay beta1 beta2 schedule warmup min_lr
  local name=$1 opt=$2 lr=$3 steps=$4 wd=$5 b1=$6 b2=$7 sched=$8 warm=$9 min=${10}
  local out="$work/$name"
  build/anatomy train "$work/init" --data "$data" --out "$out" --steps "$steps" --batch 32 --block 32 \
    --optimizer "$opt" --lr "$lr" --weight-decay "$wd" --beta1 "$b1" --beta2 "$b2" --schedule "$sched" \
    --warmup "$warm" --min-lr "$min" --eval-every "$steps" --eval-iters 20 --threads 2 --seed 1337 \
    --dump-batches "$out.batches.jsonl" --format json 2>/dev/null > "$out.json"
  local torch
  torch=$(OMP_NUM_THREADS=2 /usr/bin/python3 bench/peers/torch_recipe.py "$work/init" "$data" "$out.batches.jsonl" 2 \
    "$opt" "$lr" "$steps" 32 32 "$wd" "$b1" "$b2" "$sched" "$warm" "$min")
  /usr/bin/python3 - "$name" "$out.json" "$torch" <<'PY'
import json, sys
name, a, t = sys.argv[1], json.load(open(sys.argv[2])), json.loads(sys.argv[3])
fa, d = a["final"], 100 * (a["final"]["val_loss"] - t["val_loss"]) / t["val_loss"]
print(f"| {name} | {a['recipe']['steps']} | anatomy {fa['train_loss']:.4f} / {fa['val_loss']:.4f} | "
      f"{t['engine']} {t['train_loss']:.4f} / {t['val_loss']:.4f} | {d:+.2f} % | "
      f"{a['tokens_per_s']:.0f} vs {t['tokens_per_s']:.0f} tok/s |")
PY
}
echo "| recipe | steps | anatomy train / val loss | PyTorch train / val loss | val difference | speed (whole run) |"
echo "|---|---|---|---|---|---|"
if [ "$which" != adamw ]; then recipe "seed-001-sgd" sgd 3e-4 1000 0 0.9 0.999 constant 0 3e-4; fi
if [ "$which" != sgd ]; then recipe "adamw" adamw 3e-3 3000 0.1 0.9 0.99 cosine 100 3e-4; fi
