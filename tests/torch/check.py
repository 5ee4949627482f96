#!/usr/bin/python3
"""PyTorch checkpoints written by torch.save (Debian's python3-torch) and read by anatomy.

Good files: the same random weights in every layout anatomy understands (zip and legacy
serialization, a bare state_dict, HF pytorch_model.bin single and sharded, a tied head sharing its
storage, bf16, nanoGPT's ckpt.pt with _orig_mod. prefixes and no config.json, state_dicts of the
encoder-decoder, GPT-2, Mamba2 and Zamba2 families) must give the logits of the float64
reference forward of tests/golden/reference.py.

Hostile files: each must be refused with exit code 2, one line on stderr naming the file and the
reason, nothing on stdout, and no side effect (a __reduce__ that would run a shell command, a
STACK_GLOBAL to builtins.eval, INST, OBJ, memo abuse, a tensor outside its storage, a storage entry
of the wrong size, a zip entry with ../, a deflate bomb, a truncated legacy file).

Also writes the object pickles into WORKDIR/corpus as seeds for the unpickler fuzzer.

usage: check.py ANATOMY_BIN WORKDIR
"""
import collections
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import reference  # noqa: E402

ANATOMY, WORK = sys.argv[1], sys.argv[2]
IDS = [3, 17, 5, 42, 8, 0, 29, 11]
failures = []


def run(*args):
    return subprocess.run([ANATOMY, *args], capture_output=True, text=True)


def folder(name, config=None):
    path = os.path.join(WORK, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    if config is not None:
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f)
    return path


def check_logits(label, source, expected, tol=1e-4, ids=IDS, src=None):
    npy = os.path.join(WORK, label.replace(" ", "_") + ".npy")
    extra = ["--source-ids", ",".join(map(str, src))] if src else []
    r = run("run", source, "--ids", ",".join(map(str, ids)), "--dump-logits", npy, *extra)
    if r.returncode != 0:
        failures.append(f"{label}: anatomy run failed: {r.stderr.strip()}")
        return
    err = float(np.abs(np.load(npy)[0] - expected).max())
    print(f"{label}: max abs difference {err:.2e} (limit {tol:g})")
    if not err <= tol:
        failures.append(f"{label}: logits differ by {err}")


def f32(W):
    return {k: v.to(torch.float32) for k, v in W.items()}


def good_files():
    cfg = reference.CONFIGS["llama"]  # tied head
    W = reference.random_weights(reference.parameter_shapes(ANATOMY, folder("shapes"), "llama"), seed=7)
    expected = reference.llama_like(cfg, W, torch.tensor(IDS)).numpy()
    sd = f32(W)
    sd["lm_head.weight"] = sd["model.embed_tokens.weight"]  # one storage, two keys (as HF saves it)

    d = folder("zip", cfg)
    torch.save(sd, os.path.join(d, "model.pt"))
    check_logits("zip state_dict", os.path.join(d, "model.pt"), expected)
    with zipfile.ZipFile(os.path.join(d, "model.pt")) as z:
        seed = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    os.makedirs(os.path.join(WORK, "corpus"), exist_ok=True)
    with open(os.path.join(WORK, "corpus", "state_dict.pkl"), "wb") as f:
        f.write(seed)

    d = folder("legacy", cfg)
    torch.save(sd, os.path.join(d, "model.pt"), _use_new_zipfile_serialization=False)
    check_logits("legacy state_dict", os.path.join(d, "model.pt"), expected)

    d = folder("hf", cfg)
    torch.save(collections.OrderedDict(sd), os.path.join(d, "pytorch_model.bin"))
    check_logits("HF pytorch_model.bin", d, expected)
    inspect = json.loads(run("inspect", d, "--format", "json").stdout)
    head = [t for t in inspect["params"]["tensors"] if t["name"] == "lm_head.weight"]
    if not head or head[0].get("tied_to") != "model.embed_tokens.weight":
        failures.append("HF pytorch_model.bin: the tied head is not reported as tied")

    d = folder("sharded", cfg)
    names = list(sd)
    shards = {"pytorch_model-00001-of-00002.bin": names[: len(names) // 2],
              "pytorch_model-00002-of-00002.bin": names[len(names) // 2:]}
    weight_map = {}
    for shard, keys in shards.items():
        torch.save({k: sd[k].clone() for k in keys}, os.path.join(d, shard))
        weight_map.update({k: shard for k in keys})
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    check_logits("HF sharded .bin", d, expected)

    d = folder("bf16", cfg)
    bf = {k: v.to(torch.bfloat16) for k, v in sd.items()}
    torch.save(bf, os.path.join(d, "model.pt"))
    expected_bf = reference.llama_like(cfg, {k: v.to(torch.float64) for k, v in bf.items()}, torch.tensor(IDS)).numpy()
    check_logits("bf16 state_dict", os.path.join(d, "model.pt"), expected_bf)

    # nanoGPT's train.py checkpoint: torch.compile'd model, stock (tied) head, no config.json.
    args = dict(n_layer=2, n_head=4, n_embd=64, block_size=32, bias=True, vocab_size=65, dropout=0.0)
    ncfg = dict(args, model_type="nanogpt")
    Wn = reference.random_weights(nano_shapes(ncfg), seed=3)
    nids = [i % 65 for i in IDS]
    nexp = reference.gpt(ncfg, Wn, torch.tensor(nids), nano=True).numpy()
    model = {"_orig_mod." + k: v for k, v in f32(Wn).items()}
    model["_orig_mod.lm_head.weight"] = model["_orig_mod.transformer.wte.weight"]
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))], lr=1e-3)
    d = folder("nanogpt")
    torch.save({"model": model, "optimizer": opt.state_dict(), "model_args": args, "iter_num": 250,
                "best_val_loss": torch.tensor(1.4695), "config": {"dataset": "shakespeare_char", "compile": True}},
               os.path.join(d, "ckpt.pt"))
    check_logits("nanoGPT ckpt.pt", os.path.join(d, "ckpt.pt"), nexp, ids=nids)


def other_families():
    """Bare state_dicts of other families (hyunwoongko's encoder-decoder best_model.pt layout among them)."""
    for family in ("transformer_encdec", "gpt2", "mamba2", "zamba2"):
        cfg = reference.CONFIGS[family]
        W = reference.random_weights(reference.parameter_shapes(ANATOMY, folder(family + "_shapes"), family), seed=11)
        vocab = cfg.get("vocab_size", cfg.get("dec_voc_size"))
        ids = [i % vocab for i in IDS]
        src = [7, 1, 30, 2, 55] if family == "transformer_encdec" else None  # the encoder's own input
        args = (torch.tensor(src),) if src else ()
        expected = reference.FORWARD[family](cfg, W, torch.tensor(ids), *args).numpy()
        d = folder(family, cfg)
        torch.save(f32(W), os.path.join(d, "best_model.pt"))
        check_logits(f"{family} state_dict", os.path.join(d, "best_model.pt"), expected, ids=ids, src=src)


def nano_shapes(cfg):
    """Stock nanoGPT (tied head) is not among reference.CONFIGS; anatomy lists its tensors."""
    d = folder("nano_shapes", cfg)
    out = run("inspect", os.path.join(d, "config.json"), "--format", "json").stdout
    return [(t["name"], t["shape"]) for t in json.loads(out)["params"]["tensors"] if "tied_to" not in t]


# ------------------------------------------------------------------------------ hostile files
def zip_with(path, pkl, extra=(), compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as z:
        z.writestr("archive/data.pkl", pkl)
        for name, data in extra:
            z.writestr(name, data)


class Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class FakeStorage:
    pass


class OutOfBounds:
    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (FakeStorage(), 0, (100,), (1,), False, collections.OrderedDict()))


class StoragePickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", torch.FloatStorage, "0", "cpu", 10) if isinstance(obj, FakeStorage) else None


def expect_refused(label, path, *must_name):
    r = run("inspect", path)
    lines = r.stderr.strip().splitlines()
    problems = []
    if r.returncode != 2:
        problems.append(f"exit {r.returncode}")
    if r.stdout:
        problems.append("output on stdout")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    for s in (path,) + must_name:
        if s not in r.stderr:
            problems.append(f"message does not name '{s}'")
    print(f"{label}: {r.stderr.strip()}")
    if problems:
        failures.append(f"{label}: " + ", ".join(problems) + f" ({r.stderr.strip()})")


def hostile_files():
    d = folder("hostile", reference.CONFIGS["llama"])
    p = lambda name: os.path.join(d, name)  # noqa: E731
    pwned = p("PWNED")

    torch.save({"w": Evil(pwned)}, p("reduce.pt"))
    expect_refused("__reduce__ → os.system", p("reduce.pt"), "system", "not allowed")
    zip_with(p("stack_global.pt"), b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93.")
    expect_refused("STACK_GLOBAL builtins.eval", p("stack_global.pt"), "builtins.eval", "not allowed")
    zip_with(p("inst.pt"), b"(ios\nsystem\n.")
    expect_refused("INST", p("inst.pt"), "INST")
    zip_with(p("obj.pt"), b"\x80\x02(ccollections\nOrderedDict\no.")
    expect_refused("OBJ", p("obj.pt"), "OBJ")
    zip_with(p("memo.pt"), b"\x80\x02h\x07.")
    expect_refused("memo key never stored", p("memo.pt"), "memo key 7")
    zip_with(p("memo_put_empty.pt"), b"\x80\x02q\x00.")
    expect_refused("memo put on an empty stack", p("memo_put_empty.pt"), "empty stack")

    buf = io.BytesIO()
    StoragePickler(buf, protocol=2).dump({"w": OutOfBounds()})
    zip_with(p("oob.pt"), buf.getvalue(), [("archive/data/0", b"\0" * 40)])
    expect_refused("tensor outside its storage", p("oob.pt"), "outside its storage")

    torch.save({"w": torch.zeros(10, dtype=torch.float32)}, p("good.pt"))
    with zipfile.ZipFile(p("good.pt")) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    prefix = next(n for n in entries if n.endswith("data.pkl"))[: -len("data.pkl")]
    with zipfile.ZipFile(p("short.pt"), "w") as z:
        for n, data in entries.items():
            z.writestr(n, data[:20] if n == prefix + "data/0" else data)
    expect_refused("storage entry of the wrong size", p("short.pt"), "is 20 bytes", "needs 40")

    zip_with(p("dotdot.pt"), entries[prefix + "data.pkl"], [("../evil", b"x")])
    expect_refused("zip entry with ../", p("dotdot.pt"), "../evil", "leaves the archive")

    with zipfile.ZipFile(p("bomb.pt"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * (300 << 20))
    expect_refused("deflate bomb", p("bomb.pt"), "limit")

    torch.save({"w": torch.zeros(1000)}, p("legacy.pt"), _use_new_zipfile_serialization=False)
    with open(p("legacy.pt"), "rb") as f:
        data = f.read()
    with open(p("legacy_cut.pt"), "wb") as f:
        f.write(data[:-100])
    expect_refused("truncated legacy file", p("legacy_cut.pt"), "past the end")

    with open(p("noise.pt"), "wb") as f:
        f.write(os.urandom(64).replace(b"P", b"p").replace(b"\x80", b"\x81"))
    expect_refused("not a checkpoint", p("noise.pt"), "neither")

    if os.path.exists(pwned):
        failures.append("a pickle ran a shell command")


good_files()
other_families()
hostile_files()
if failures:
    sys.exit("FAILED:\n  " + "\n  ".join(failures))
print("all torch checkpoint checks passed")
