#!/usr/bin/env python3
"""anatomy's CUDA backend beside transformers' eager forward (runs on the GPU machine; not part of
`make test`). Each case builds the model with transformers from the catalog config (bf16, on the
GPU), times its forward with CUDA events (median of repeats after warm-up), saves it with
save_pretrained, and times `anatomy bench --device cuda` on that folder: the same weights, dtype and
token count. Cases run in order of value and stop when the time budget runs short (said so).

usage: hf_bench.py ANATOMY WORKDIR RESULT_JSON SECONDS [CASE ...]   (cases by catalog name; default all)
"""
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (name, catalog entry, tokens, mode, seconds it needs at least: about twice what each took on an
# H200, 2026-11-27)
CASES = [
    ("Zamba2-1.2B T=35 forward", "zamba2-1.2b", 35, "prefill", 40),
    ("Llama-3.2-1B T=512 prefill", "llama-3.2-1b", 512, "prefill", 30),
    ("Llama-3.2-3B decode", "llama-3.2-3b", 64, "decode", 60),
    ("NVIDIA-Nemotron-Nano-9B-v2 T=61 forward", "nemotron-nano-9b-v2", 61, "prefill", 45),
]


def config(name):
    from transformers import AutoConfig
    with open(os.path.join(REPO, "catalog", name + ".json")) as f:
        cfg = json.load(f)
    for key in ("anatomy_catalog", "auto_map"):
        cfg.pop(key, None)
    cfg["use_mamba_kernels"] = False
    model_type = cfg.pop("model_type")
    return AutoConfig.for_model(model_type, **cfg)


def build(name):
    from transformers import AutoModelForCausalLM
    with torch.device("cuda"):
        try:
            model = AutoModelForCausalLM.from_config(config(name), dtype=torch.bfloat16, attn_implementation="eager")
        except TypeError:
            model = AutoModelForCausalLM.from_config(config(name), torch_dtype=torch.bfloat16, attn_implementation="eager")
    return model.eval()


def median_ms(fn, warmup=3, repeat=10):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def hf_times(model, tokens, mode, vocab):
    g = torch.Generator(device="cuda").manual_seed(0)
    with torch.no_grad():
        if mode == "prefill":
            ids = torch.randint(1, vocab, (1, tokens), device="cuda", generator=g)
            return {"forward_ms": median_ms(lambda: model(input_ids=ids, use_cache=False))}
        # decode: one-token steps on the cache after a 16-token prompt
        prompt = torch.randint(1, vocab, (1, 16), device="cuda", generator=g)
        out = model(input_ids=prompt, use_cache=True)
        cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        steps = []
        for _ in range(tokens):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
            nxt = out.logits[:, -1:].argmax(-1)
            b.record()
            torch.cuda.synchronize()
            steps.append(a.elapsed_time(b))
            cache = out.past_key_values
        steps.sort()
        return {"step_ms": steps[len(steps) // 2], "tok_per_s": 1000.0 / steps[len(steps) // 2]}


def anatomy_bench(anatomy, source, random, args, env=None):
    args = [anatomy, "bench", source, "--device", "cuda", "--format", "json", "--repeat", "10", "--warmup", "2"] + args
    if random:
        args += ["--random-weights", "--dtype", "bf16"]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True,
                                     env=dict(os.environ, **(env or {}))).stdout)


def anatomy_times(anatomy, source, tokens, mode, random):
    if mode == "prefill":
        d = anatomy_bench(anatomy, source, random, ["-p", str(tokens), "-n", "0"])
        return {"forward_ms": d["prefill"][0]["time"]["median_s"] * 1e3, "weights": d["weights"]}
    # Decode steps (llama-bench's tg: from an empty cache), then the same steps op by op (no CUDA
    # graph) for the difference the graph makes.
    d = anatomy_bench(anatomy, source, random, ["-p", "16", "-n", str(tokens)])
    plain = anatomy_bench(anatomy, source, random, ["-p", "16", "-n", str(tokens)], {"ANATOMY_CUDA_GRAPHS": "0"})
    return {"step_ms": d["decode"]["latency_median_ms"], "tok_per_s": d["decode"]["tok_per_s"], "launch": d["decode"]["launch"],
            "op_by_op_step_ms": plain["decode"]["latency_median_ms"], "op_by_op_launch": plain["decode"]["launch"],
            "weights": d["weights"]}


def main():
    anatomy, workdir, result, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    wanted = sys.argv[5:]
    start = time.time()
    rows = []
    device = json.loads(subprocess.run([anatomy, "device", "--device", "cuda", "--format", "json"], check=True,
                                       capture_output=True, text=True).stdout)
    read_gbs = device["memory"]["read_gbs"]
    for label, name, tokens, mode, needs in CASES:
        if wanted and name not in wanted:
            continue
        left = seconds - (time.time() - start)
        if left < needs:
            rows.append({"case": label, "skipped": f"{left:.0f} s left of the budget, the case needs about {needs} s"})
            print(f"{label}: SKIPPED ({rows[-1]['skipped']})", flush=True)
            continue
        row = {"case": label, "tokens": tokens, "mode": mode, "dtype": "bf16"}
        folder = os.path.join(workdir, name)
        try:
            model = build(name)
            vocab = model.config.vocab_size
            row["weight_bytes"] = sum(p.numel() * p.element_size() for p in model.parameters())
            row["transformers"] = hf_times(model, tokens, mode, vocab)
            # The same weights for anatomy, unless writing them would eat the budget (the 9B).
            same = row["weight_bytes"] < 8e9
            if same:
                model.save_pretrained(folder)
            del model
            torch.cuda.empty_cache()
            try:
                row["anatomy"] = anatomy_times(anatomy, folder if same else name, tokens, mode, not same)
                row["same_weights"] = same
            except subprocess.CalledProcessError as e:
                row["anatomy_on_saved_folder_error"] = e.stderr.strip()[-1500:]
                row["anatomy"] = anatomy_times(anatomy, name, tokens, mode, True)
                row["same_weights"] = False
            key = "forward_ms" if mode == "prefill" else "step_ms"
            row["speedup_vs_transformers"] = row["transformers"][key] / row["anatomy"][key]
            if mode == "decode":
                row["pct_of_read_bandwidth"] = 100 * row["weight_bytes"] / (row["anatomy"]["step_ms"] / 1e3) / (read_gbs * 1e9)
            if mode == "decode":
                print(f"{label}: {row['anatomy']['launch']}; op by op {row['anatomy']['op_by_op_step_ms']:.2f} ms per step",
                      flush=True)
            print(f"{label}: anatomy {row['anatomy'][key]:.2f} ms, transformers {row['transformers'][key]:.2f} ms, "
                  f"{row['speedup_vs_transformers']:.2f}x" + (f", {row['pct_of_read_bandwidth']:.0f}% of {read_gbs:.0f} GB/s"
                                                              if mode == "decode" else "") +
                  f" (same weights: {row['same_weights']})", flush=True)
        except Exception:
            row["error"] = traceback.format_exc()[-3000:]
            print(f"{label}: ERROR {row['error']}", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        rows.append(row)
    with open(result, "w") as f:
        json.dump({"gpu": torch.cuda.get_device_name(0), "device": device, "cases": rows}, f, indent=1)


if __name__ == "__main__":
    main()
