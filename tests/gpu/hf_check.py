#!/usr/bin/env python3
"""anatomy against Hugging Face transformers on the same weights (runs on the GPU machine, where
torch and transformers 5 are installed; nothing here is part of `make test`).

For each family, a config derived from the catalog (real widths, fewer layers) is written as
config.json, `anatomy convert --random-weights --safetensors` writes the weights, transformers
loads the folder with from_pretrained (eager attention; every tensor must be used and none
missing) and computes the logits of every position in float64 (the reference) and float32; they
are compared with `anatomy run` (f32) on the CPU and on the GPU: max |difference| to the float64
logits ≤ 1e-3. transformers' own f32 distance to its f64 logits is reported beside it.

usage: hf_check.py ANATOMY WORKDIR RESULT_JSON [FAMILY ...]
"""
import json
import os
import subprocess
import sys
import time
import traceback

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = 1e-3
# Uniform weights in ±scale. Zamba2 at real width with 0.1 has transformers' own f32 logits 1.9e-3
# from its f64 ones (seen on an H200), so the 1e-3 comparison would measure f32 noise: 0.05 there.
SCALE = {"zamba2": "0.05"}


def catalog(name, **changes):
    with open(os.path.join(REPO, "catalog", name + ".json")) as f:
        cfg = json.load(f)
    for key in ("anatomy_catalog", "auto_map"):
        cfg.pop(key, None)
    cfg.update(changes)
    return cfg


def configs():
    llama = catalog("llama-3.2-1b", num_hidden_layers=2)
    return {
        "llama": llama,
        "qwen3": dict(llama, model_type="qwen3", architectures=["Qwen3ForCausalLM"], head_dim=128, rope_scaling=None,
                      rope_theta=1000000.0, tie_word_embeddings=False, vocab_size=151936),
        "gpt2": catalog("gpt2", n_layer=2),
        # The catalog's mamba2-130m is in mamba_ssm's format; this is its transformers form.
        "mamba2": {"model_type": "mamba2", "architectures": ["Mamba2ForCausalLM"], "hidden_size": 768, "num_heads": 24,
                   "head_dim": 64, "state_size": 128, "n_groups": 1, "expand": 2, "conv_kernel": 4,
                   "num_hidden_layers": 2, "vocab_size": 50288, "tie_word_embeddings": True, "use_conv_bias": True,
                   "use_bias": False, "layer_norm_epsilon": 1e-5, "residual_in_fp32": True},
        "nemotron_h": catalog("nemotron-nano-9b-v2", hybrid_override_pattern="M-M*-", num_hidden_layers=5,
                              use_mamba_kernels=False),
        "zamba2": catalog("zamba2-1.2b", layers_block_type=["mamba", "hybrid", "mamba", "hybrid"], num_hidden_layers=4,
                          hybrid_layer_ids=[1, 3], use_mamba_kernels=False),
    }


def hf_logits(folder, ids):
    from transformers import AutoModelForCausalLM
    try:
        model, info = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                                           output_loading_info=True)
    except TypeError:  # older keyword
        model, info = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager",
                                                           output_loading_info=True)
    problems = {k: list(v) for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    model = model.cuda().eval()
    with torch.no_grad():
        f32 = model(input_ids=torch.tensor([ids], device="cuda")).logits[0].double().cpu().numpy()
        model = model.double()
        f64 = model(input_ids=torch.tensor([ids], device="cuda")).logits[0].cpu().numpy()
    del model
    torch.cuda.empty_cache()
    return f64, f32, problems


def anatomy_logits(anatomy, folder, ids, device):
    path = os.path.join(folder, f"logits_{device}.npy")
    subprocess.run([anatomy, "run", folder, "--ids", ",".join(map(str, ids)), "--dump-logits", path, "--device", device],
                   check=True, capture_output=True, text=True)
    return np.load(path)[0]


def check(anatomy, workdir, family, cfg):
    folder = os.path.join(workdir, family)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    subprocess.run([anatomy, "convert", os.path.join(folder, "config.json"), "--random-weights", "--seed", "5",
                    "--scale", SCALE.get(family, "0.1"),
                    "--safetensors", os.path.join(folder, "model.safetensors")], check=True, capture_output=True, text=True)
    rng = np.random.default_rng(3)
    ids = [int(i) for i in rng.integers(3, min(cfg.get("vocab_size", 50257), 30000), size=40)]  # 40: the GPU scan runs its chunked form (T ≥ 16), two chunks
    theirs, theirs_f32, problems = hf_logits(folder, ids)
    row = {"family": family, "ids": ids, "loading_problems": problems, "max_abs_logit": float(np.abs(theirs).max()),
           "hf_f32_vs_f64": float(np.abs(theirs_f32 - theirs).max())}
    for device in ("cpu", "cuda"):
        ours = anatomy_logits(anatomy, folder, ids, device)
        ours = ours[-theirs.shape[0]:]  # a model that keeps only the last logits (num_logits_to_keep)
        row[f"max_abs_diff_{device}"] = float(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else None
        row[f"shape_{device}"] = list(ours.shape)
    row["hf_shape"] = list(theirs.shape)
    row["ok"] = not problems and all(row[f"max_abs_diff_{d}"] is not None and row[f"max_abs_diff_{d}"] <= LIMIT
                                     for d in ("cpu", "cuda"))
    return row


def main():
    anatomy, workdir, result = sys.argv[1], sys.argv[2], sys.argv[3]
    wanted = sys.argv[4:] or list(configs())
    import transformers
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    rows = []
    for family in wanted:
        t0 = time.time()
        try:
            row = check(anatomy, workdir, family, configs()[family])
        except subprocess.CalledProcessError as e:
            row = {"family": family, "ok": False, "error": f"{' '.join(e.cmd[:2])}: {e.stderr.strip()[-2000:]}"}
        except Exception:
            row = {"family": family, "ok": False, "error": traceback.format_exc()[-3000:]}
        row["seconds"] = round(time.time() - t0, 1)
        rows.append(row)
        if "error" in row:
            print(f"{family}: ERROR {row['error']}", flush=True)
        else:
            print(f"{family}: {'ok' if row['ok'] else 'FAILED'}  max|anatomy cpu − hf f64| {row['max_abs_diff_cpu']:.2e}  "
                  f"max|anatomy cuda − hf f64| {row['max_abs_diff_cuda']:.2e}  (hf f32 − hf f64: {row['hf_f32_vs_f64']:.2e}; "
                  f"max |logit| {row['max_abs_logit']:.2f}, limit {LIMIT}) loading problems: "
                  f"{row['loading_problems'] or 'none'}  {row['seconds']} s", flush=True)
    with open(result, "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                   "gpu": torch.cuda.get_device_name(0), "limit": LIMIT, "families": rows}, f, indent=1)
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
