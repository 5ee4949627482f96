#!/usr/bin/python3
"""`anatomy eval` where llama.cpp has no counterpart, against the float64 PyTorch references of
reference.py: the encoder-decoder's perplexity of targets given sources (a TSV of pairs, GPT-2's
vocabulary with <pad>, <s>, </s>: tests/tokenizers' gpt2_encdec tokenizer) and Zamba2's
perplexity by llama-perplexity's windows (the same tokenizer, text from tinyshakespeare).
Perplexity must agree within 0.1 %.

usage: eval_check.py FAMILY ANATOMY_BIN WORKDIR
"""
import json
import math
import os
import shutil
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "tokenizers"))
import check as tokenizer_check  # noqa: E402
import reference  # noqa: E402

SHAKESPEARE = os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt")
VOCAB = 50260


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def nll_of(logits, targets):
    """Summed NLL of targets[p] under logits[p] (float64)."""
    logp = torch.log_softmax(torch.as_tensor(logits, dtype=torch.float64), dim=-1)
    return float(-logp[torch.arange(len(targets)), torch.tensor(targets)].sum())


def main():
    family, anatomy, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(workdir, exist_ok=True)
    tokenizer_check.gpt2_folder(workdir)
    shutil.copy(os.path.join(workdir, "gpt2_encdec.tokenizer.json"), os.path.join(workdir, "tokenizer.json"))
    text = open(SHAKESPEARE, encoding="utf-8").read()[:4000] if os.path.exists(SHAKESPEARE) else "To be, or not to be.\n" * 200
    lines = [l for l in text.split("\n") if l.strip()]
    if family == "transformer_encdec":
        reference.CONFIGS[family] = dict(reference.CONFIGS[family], enc_voc_size=VOCAB, dec_voc_size=VOCAB, max_len=128)
    else:
        reference.CONFIGS[family] = dict(reference.CONFIGS[family], vocab_size=VOCAB)
    cfg = reference.CONFIGS[family]
    W = reference.random_weights(reference.parameter_shapes(anatomy, workdir, family), seed=3)
    reference.write_safetensors(os.path.join(workdir, "model.safetensors"), W)
    tok = lambda s: [int(x) for x in run([anatomy, "tokenize", workdir, "--string", s]).split()]
    nll, count = 0.0, 0
    if family == "transformer_encdec":
        pairs = [(lines[i], lines[i + 1]) for i in range(0, min(len(lines) - 1, 24), 2)]
        path = os.path.join(workdir, "pairs.tsv")
        open(path, "w", encoding="utf-8").write("".join(f"{a}\t{b}\n" for a, b in pairs))
        for a, b in pairs:
            src, trg = tok(a), tok(b)
            logits = reference.FORWARD[family](cfg, W, torch.tensor(trg), torch.tensor(src)).numpy()
            nll += nll_of(logits[:-1], trg[1:])
            count += len(trg) - 1
        ours = json.loads(run([anatomy, "eval", workdir, "--text", path, "--format", "json"]))
    else:
        path = os.path.join(workdir, "text.txt")
        open(path, "w", encoding="utf-8").write(text[:1500])
        ids = [int(x) for x in run([anatomy, "tokenize", workdir, "--text", path]).split()]
        ctx = 32
        for w in range(len(ids) // ctx):
            window = [ids[0]] + ids[w * ctx + 1:(w + 1) * ctx]  # BOS replaces each window's first token
            logits = reference.FORWARD[family](cfg, W, torch.tensor(window)).numpy()
            nll += nll_of(logits[ctx // 2:ctx - 1], window[ctx // 2 + 1:])
            count += ctx - 1 - ctx // 2
        ours = json.loads(run([anatomy, "eval", workdir, "--text", path, "--ctx", str(ctx), "--format", "json"]))
    ppl = math.exp(nll / count)
    rel = abs(ours["ppl"] - ppl) / ppl
    print(f"{family}: PyTorch float64 {ppl:.6f} over {count} tokens, anatomy {ours['ppl']:.6f} over {ours['tokens_scored']} "
          f"({ours['protocol']}); relative difference {rel:.2e} (limit 1e-3)")
    if rel > 1e-3 or count != ours["tokens_scored"]:
        sys.exit(f"{family}: FAILED")


if __name__ == "__main__":
    main()
