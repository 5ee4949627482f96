#!/usr/bin/python3
"""`anatomy train` against PyTorch training the same model on the same batches.

A random nanoGPT (tied head, as stock nanoGPT) and a character text are written; anatomy fine-tunes
it for a few steps; PyTorch (Debian's python3-torch) replays the same run in float64: the same
90/10 split, the same batches (anatomy draws offsets from SplitMix64, documented in
src/train/data.h), the reference forward of tests/golden/reference.py (written from
ARCHITECTURES.md), torch.optim.AdamW / torch.optim.SGD with nanoGPT's parameter groups (decay on
tensors of two or more dimensions), torch.nn.utils.clip_grad_norm_, gradient accumulation and the
warm-up + cosine schedule. Every step's training loss and gradient norm (log.jsonl) and the final
weights (DIR/last) must agree.

usage: train_check.py ANATOMY_BIN WORKDIR
"""
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import reference as ref  # noqa: E402
from grad_check import read_safetensors  # noqa: E402

ANATOMY, WORK = sys.argv[1], sys.argv[2]
CONFIG = {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 16, "bias": True, "dropout": 0.0}
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def text():
    """A few thousand characters of varied words (deterministic), so every character recurs."""
    words = ["the", "king", "shall", "not", "speak", "of", "love", "and", "war", "to", "thee", "my", "lord",
             "what", "is", "a", "name", "rose", "by", "any", "other", "would", "smell", "as", "sweet"]
    g = SplitMix64(3)
    lines = []
    for _ in range(160):
        n = 4 + g.next() % 6
        lines.append(" ".join(words[g.next() % len(words)] for _ in range(n)).capitalize() + ".")
    return "\n".join(lines) + "\n"


def lr_at(step, lr, min_lr, warmup, steps):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = min(1.0, (step - warmup) / (steps - warmup))
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * p))


def case(name, optimizer_args, make_optimizer):
    work = os.path.join(WORK, name)
    shutil.rmtree(work, ignore_errors=True)
    model = os.path.join(work, "model")
    os.makedirs(model)
    data = text()
    chars = sorted(set(data))
    cfg = dict(CONFIG, vocab_size=len(chars))
    ref.CONFIGS["train_check"] = cfg
    W = ref.random_weights(ref.parameter_shapes(ANATOMY, model, "train_check"), seed=11)
    ref.write_safetensors(os.path.join(model, "model.safetensors"), W)
    with open(os.path.join(model, "vocab.json"), "w") as f:
        json.dump(chars, f)
    with open(os.path.join(work, "data.txt"), "w") as f:
        f.write(data)

    steps, batch, block, accum, seed, lr, warmup, clip = 12, 4, 16, 2, 7, 3e-3, 3, 1.0
    out = os.path.join(work, "out")
    r = subprocess.run([ANATOMY, "train", model, "--data", os.path.join(work, "data.txt"), "--out", out,
                        "--steps", str(steps), "--batch", str(batch), "--block", str(block), "--accum", str(accum),
                        "--seed", str(seed), "--lr", str(lr), "--warmup", str(warmup), "--schedule", "cosine",
                        "--clip", str(clip), "--eval-every", str(steps), "--eval-iters", "2", "--format", "json",
                        "--save-pt"]
                       + optimizer_args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{name}: anatomy train failed: {r.stderr.strip()}")
    log = [json.loads(line) for line in open(os.path.join(out, "log.jsonl"))]

    ids = [chars.index(c) for c in data]
    train = ids[: len(ids) * 9 // 10]
    params = list(W.values())
    for p in params:
        p.requires_grad_(True)
    opt = make_optimizer([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                          {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr)
    rng = SplitMix64(seed)
    worst_loss = worst_norm = 0.0
    for step in range(steps):
        opt.zero_grad()
        total = 0.0
        for _ in range(accum):
            rows = []
            for _ in range(batch):
                o = rng.next() % (len(train) - block)
                rows.append((train[o:o + block], train[o + 1:o + block + 1]))
            loss = sum(torch.nn.functional.cross_entropy(ref.gpt(cfg, W, torch.tensor(x), nano=True), torch.tensor(y))
                       for x, y in rows) / batch
            (loss / accum).backward()
            total += loss.item() / accum
        norm = torch.nn.utils.clip_grad_norm_(params, clip).item()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, lr, lr / 10, warmup, steps)
        opt.step()
        worst_loss = max(worst_loss, abs(log[step]["train_loss"] - total) / total)
        worst_norm = max(worst_norm, abs(log[step]["grad_norm"] - norm) / norm)

    got = read_safetensors(os.path.join(out, "last", "model.safetensors"))
    diffs = {n: np.abs(got[n] - t.detach().numpy()) / float(t.detach().abs().max()) for n, t in W.items()}
    for n in diffs:
        # The key bias's gradient is zero in exact arithmetic (softmax ignores a constant added to
        # every score): f32 and f64 each carry rounding noise there, which Adam normalises to ±lr.
        if n.endswith("attn.c_attn.bias"):
            diffs[n][cfg["n_embd"]:2 * cfg["n_embd"]] = 0
    worst_w = max(float(d.max()) for d in diffs.values())
    print(f"{name}: {steps} steps × {accum} micro-batches of {batch}×{block}: worst relative difference: loss "
          f"{worst_loss:.2e}, gradient norm {worst_norm:.2e} (limits 1e-6), final weights {worst_w:.2e} (limit 1e-4)")
    if worst_loss > 1e-6 or worst_norm > 1e-6 or worst_w > 1e-4:
        sys.exit(f"{name}: FAILED")
    saved_pt(os.path.join(out, "best"), cfg, got)
    best = os.path.join(out, "best")
    for args in (["inspect", best], ["generate", best, "--prompt", "the king", "-n", "5"],
                 ["eval", best, "--text", os.path.join(work, "data.txt"), "--ctx", "16", "--chunks", "2"],
                 ["profile", best, "--tokens", "8", "--repeat", "2"], ["bench", best, "-p", "8", "-n", "4", "-r", "2"]):
        r = subprocess.run([ANATOMY] + args, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{name}: anatomy {args[0]} on DIR/best failed: {r.stderr.strip()}")


def saved_pt(best, cfg, weights):
    """best_model.pt: torch.load(weights_only=True) gives every state_dict slot (the tied head
    sharing the embedding's storage, as nanoGPT's state_dict has it), equal to model.safetensors,
    and the reference forward on it gives the logits `anatomy run` gives."""
    sd = torch.load(os.path.join(best, "best_model.pt"), weights_only=True)
    if set(sd) != set(weights) | {"lm_head.weight"}:
        sys.exit(f"best_model.pt: keys {sorted(sd)}")
    if sd["lm_head.weight"].data_ptr() != sd["transformer.wte.weight"].data_ptr():
        sys.exit("best_model.pt: the tied head does not share the embedding's storage")
    if any(not np.array_equal(sd[n].numpy(), w) for n, w in weights.items()):
        sys.exit("best_model.pt: tensors differ from model.safetensors")
    ids = [1, 5, 9, 2, 7]
    logits_path = best + ".logits.npy"
    subprocess.run([ANATOMY, "run", best, "--ids", ",".join(map(str, ids)), "--dump-logits", logits_path], check=True,
                   capture_output=True)
    W = {n: t.to(torch.float64) for n, t in sd.items() if n != "lm_head.weight"}
    expected = ref.gpt(cfg, W, torch.tensor(ids), nano=True).detach().numpy()
    err = float(np.abs(np.load(logits_path)[0] - expected).max())
    print(f"best_model.pt: {len(sd)} tensors read by torch.load(weights_only=True), tied head shared, logits of the "
          f"reference on it vs anatomy run: {err:.2e} (limit 1e-4)")
    if err > 1e-4:
        sys.exit("best_model.pt: FAILED")


def workspace(name, config=None):
    """A fresh folder WORK/name with the text as data.txt (and config.json when given)."""
    work = os.path.join(WORK, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data = os.path.join(work, "data.txt")
    with open(data, "w") as f:
        f.write(text())
    if config is not None:
        with open(os.path.join(work, "config.json"), "w") as f:
            json.dump(config, f)
    return work, data


def killed_and_resumed():
    """A run killed at random moments (SIGKILL, so nothing is flushed on the way out) and resumed
    each time ends with the same log and weights as one uninterrupted run."""
    # vocab_size is replaced by the count of the data's characters
    work, data = workspace("kill", dict(CONFIG, model_type="nanogpt", vocab_size=65))
    common = ["--data", data, "--steps", "400", "--batch", "4", "--block", "16", "--eval-every", "3", "--eval-iters", "1"]
    whole, cut = os.path.join(work, "whole"), os.path.join(work, "cut")
    subprocess.run([ANATOMY, "train", "--config", os.path.join(work, "config.json"), "--out", whole] + common,
                   check=True, capture_output=True)
    first, kills = True, 0
    for delay in [0.3, 0.5, 0.4, 0.6, None]:
        args = [ANATOMY, "train"] + (["--config", os.path.join(work, "config.json")] if first else ["--resume", cut])
        p = subprocess.Popen(args + ["--out", cut] + common, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if delay is not None:
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
        if p.wait() == 0:
            break
        if delay is None:
            sys.exit(f"kill: the last resume failed: {p.stderr.read().decode()}")
        first = first and not os.path.exists(os.path.join(cut, "last", "COMPLETE"))
    same_log = open(os.path.join(whole, "log.jsonl")).read().count("\n") == open(os.path.join(cut, "log.jsonl")).read().count("\n")
    a = read_safetensors(os.path.join(whole, "last", "model.safetensors"))
    b = read_safetensors(os.path.join(cut, "last", "model.safetensors"))
    same = all(np.array_equal(a[n], b[n]) for n in a)
    losses = lambda d: [json.loads(l)["train_loss"] for l in open(os.path.join(d, "log.jsonl"))]
    print(f"kill: {kills} SIGKILLs and resumes: final weights {'bit-identical' if same else 'DIFFERENT'}, "
          f"log {'the same' if same_log and losses(whole) == losses(cut) else 'DIFFERENT'}")
    if not same or not same_log or losses(whole) != losses(cut):
        sys.exit("kill: FAILED")


def kill_while_saving():
    """SIGKILL at random moments of a run that saves after every step, 50 times: a complete
    checkpoint that loads (and resumes) is always left behind."""
    work, data = workspace("kill_saving", {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 8, "vocab_size": 65})
    out = os.path.join(work, "out")
    common = ["--data", data, "--steps", "100000", "--batch", "2", "--block", "8", "--eval-every", "1", "--eval-iters", "1"]
    rng = random.Random(5)
    complete = lambda: [d for d in ("last", "last.previous") if os.path.exists(os.path.join(out, d, "COMPLETE"))]
    kills = 10 if os.environ.get("ANATOMY_QUICK_ORACLES") else 50  # fewer in the sanitizer run
    for kill in range(kills):
        start = ["--resume", out] if complete() else ["--config", os.path.join(work, "config.json"), "--out", out]
        p = subprocess.Popen([ANATOMY, "train"] + start + common, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60  # the first save, however slow the build (sanitizers)
        while not complete() and time.time() < deadline and p.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))  # then a random moment: most fall inside a save
        if p.poll() is not None:
            sys.exit(f"kill_saving: the run ended by itself: {p.stderr.read().decode()}")
        p.send_signal(signal.SIGKILL)
        p.wait()
        if not complete():
            sys.exit(f"kill_saving: no complete checkpoint after kill {kill + 1}")
        ckpt = os.path.join(out, complete()[0])
        read_safetensors(os.path.join(ckpt, "model.safetensors"))
        read_safetensors(os.path.join(ckpt, "optimizer.safetensors"))
        json.load(open(os.path.join(ckpt, "trainer_state.json")))
        if kill % 10 == 9:
            subprocess.run([ANATOMY, "inspect", ckpt], check=True, capture_output=True)
    print(f"kill_saving: {kills} SIGKILLs at random moments of a run saving every step: each left a complete checkpoint "
          "that loaded and resumed")


def bad_inputs():
    """Bad options and data: one line on stderr, exit code 2, nothing on stdout."""
    work, data = workspace("bad", dict(CONFIG, vocab_size=65))
    config = os.path.join(work, "config.json")
    short, other = os.path.join(work, "short.txt"), os.path.join(work, "other.txt")
    huge = os.path.join(work, "huge.json")  # 9.7 billion parameters: 155 GB of weights, gradients and moments
    with open(huge, "w") as f:
        json.dump({"n_layer": 48, "n_head": 32, "n_embd": 4096, "block_size": 64, "vocab_size": 65}, f)
    with open(short, "w") as f:
        f.write("to be or not\n")
    with open(other, "w") as f:
        f.write(text().upper())
    run = os.path.join(work, "run")
    subprocess.run([ANATOMY, "train", "--config", config, "--data", data, "--out", run, "--steps", "2", "--batch", "2",
                    "--block", "8", "--eval-every", "1", "--eval-iters", "1"], check=True, capture_output=True)
    base = [ANATOMY, "train", "--config", config, "--data", data, "--out", os.path.join(work, "new")]
    cases = {
        "--steps 0": base + ["--steps", "0"],
        "--optimizer adam": base + ["--optimizer", "adam"],
        "--lr -1": base + ["--lr", "-1"],
        "--warmup past --steps": base + ["--steps", "5", "--warmup", "9"],
        "--clip -1": base + ["--clip", "-1"],
        "--momentum with adamw": base + ["--momentum", "0.9"],
        "data shorter than one block": [ANATOMY, "train", "--config", config, "--data", short, "--out",
                                        os.path.join(work, "new"), "--block", "8"],
        "--out of an existing run": [ANATOMY, "train", "--config", config, "--data", data, "--out", run],
        "--resume without a run": [ANATOMY, "train", "--resume", os.path.join(work, "nothing")],
        "--resume with other data": [ANATOMY, "train", "--resume", run, "--data", other, "--steps", "4"],
        "--resume with another config": [ANATOMY, "train", "--resume", run, "--config", os.path.join(WORK, "kill", "config.json"),
                                         "--steps", "4"],
        "no --data": [ANATOMY, "train", "--config", config, "--out", os.path.join(work, "new")],
        "more memory than the machine has (refused before any weight is drawn)": [
            ANATOMY, "train", "--config", huge, "--data", data, "--out", os.path.join(work, "new"), "--block", "32"],
    }
    for name, args in cases.items():
        r = subprocess.run(args, capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or r.stdout:
            sys.exit(f"bad input '{name}': exit {r.returncode}, stderr {r.stderr!r}, stdout {r.stdout[:80]!r}")
    print(f"bad inputs: {len(cases)} cases, each one line on stderr and exit code 2")


def every_family():
    """Each family trains from scratch on a character vocabulary (the encoder-decoder on line ->
    next line pairs): the validation loss falls, and the best checkpoint runs."""
    work, data = workspace("families")
    steps = 20 if os.environ.get("ANATOMY_QUICK_ORACLES") else 40  # shorter in the sanitizer run
    for family in ["llama", "gpt2", "mamba2", "nemotron_h", "zamba2", "transformer_encdec"]:
        cfg = dict(ref.CONFIGS[family])
        for k in ("vocab_size", "enc_voc_size", "dec_voc_size"):
            if k in cfg:
                cfg[k] = 40
        if family == "transformer_encdec":  # ids of the 30 characters stay clear of the specials
            cfg.update(src_pad_idx=37, trg_pad_idx=37, trg_sos_idx=38, trg_eos_idx=39)
        config = os.path.join(work, family + ".json")
        with open(config, "w") as f:
            json.dump(cfg, f)
        out = os.path.join(work, family)
        r = subprocess.run([ANATOMY, "train", "--config", config, "--tokenizer", data, "--data", data, "--out", out,
                            "--steps", str(steps), "--batch", "8", "--block", "16", "--lr", "3e-3", "--eval-every", str(steps // 4),
                            "--eval-iters", "4", "--format", "json"] + (["--pairs", "lines"] if "encdec" in family else []),
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{family}: anatomy train failed: {r.stderr.strip()}")
        val = [json.loads(l)["val_loss"] for l in open(os.path.join(out, "log.jsonl")) if "val_loss" in l]
        run = subprocess.run([ANATOMY, "run", os.path.join(out, "best"), "--ids", "1,2,3"]
                             + (["--source-ids", "4,5"] if "encdec" in family else []), capture_output=True, text=True)
        print(f"{family}: validation loss {' -> '.join(f'{v:.3f}' for v in val)}; best checkpoint runs: {run.returncode == 0}")
        if not val[-1] < val[0] or run.returncode != 0:
            sys.exit(f"{family}: FAILED {run.stderr.strip()}")


torch.set_default_dtype(torch.float64)
every_family()
killed_and_resumed()
kill_while_saving()
bad_inputs()
case("adamw", ["--optimizer", "adamw", "--weight-decay", "0.1", "--beta2", "0.95"],
     lambda groups, lr: torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8))
case("sgd", ["--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--weight-decay", "0.1"],
     lambda groups, lr: torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True))
