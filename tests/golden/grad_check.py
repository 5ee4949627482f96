#!/usr/bin/python3
"""Gradient check: the float64 PyTorch reference forward of reference.py (written from
shared/ARCHITECTURES.md, not from anatomy's code) differentiated by torch.autograd, against
`anatomy run --dump-grads` (the training tape over anatomy's own forward) on the same random
checkpoint. The loss is the mean next-token cross-entropy over the ids; every parameter's
gradient must agree within 1e-4 of that tensor's largest gradient (f32 against f64).
(Its golden counterpart, reference.py, checks the forward's logits.)

usage: grad_check.py FAMILY ANATOMY_BIN WORKDIR
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

F = torch.nn.functional


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[t["dtype"]]
        out[name] = np.frombuffer(data[a:b], dtype=dtype).reshape(t["shape"])
    return out


def main():
    family, anatomy, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    cfg = ref.CONFIGS[family]
    W = ref.random_weights(ref.parameter_shapes(anatomy, workdir, family), seed=len(family) + 7)
    ref.write_safetensors(os.path.join(workdir, "model.safetensors"), W)
    ids = ref.IDS[: min(len(ref.IDS), cfg.get("block_size", 64))]
    ids = [i % cfg.get("vocab_size", cfg.get("dec_voc_size", 0)) for i in ids]
    for t in W.values():
        t.requires_grad_(True)
    args = [anatomy, "run", workdir, "--ids", ",".join(map(str, ids)), "--format", "json",
            "--dump-grads", workdir + ".grads.safetensors"]
    if family == "transformer_encdec":
        src = [5, 1, 60, 9, 33, 2, 71, 12, 1, 40, 8, 19, 3, 90]
        logits = ref.FORWARD[family](cfg, W, torch.tensor(ids), torch.tensor(src))
        args += ["--source-ids", ",".join(map(str, src))]
    else:
        logits = ref.FORWARD[family](cfg, W, torch.tensor(ids))
    loss = F.cross_entropy(logits[:-1], torch.tensor(ids[1:]))
    loss.backward()

    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{family}: anatomy run --dump-grads failed: {r.stderr.strip()}")
    got_loss = json.loads(r.stdout)["loss"]
    got = read_safetensors(workdir + ".grads.safetensors")
    if set(got) != set(W):
        sys.exit(f"{family}: gradient names differ: only anatomy {sorted(set(got) - set(W))}, "
                 f"only reference {sorted(set(W) - set(got))}")
    worst, worst_name = 0.0, ""
    # A gradient that is zero in exact arithmetic (an attention key bias: softmax ignores a constant
    # added to every score) is measured against 1 % of the model's largest gradient instead.
    floor = 0.01 * max(float(t.grad.abs().max()) for t in W.values())
    for name, t in W.items():
        expected = t.grad.numpy()
        if got[name].shape != expected.shape:
            sys.exit(f"{family}: {name}: gradient shape {got[name].shape}, reference {expected.shape}")
        scale = max(float(np.abs(expected).max()), floor)
        err = float(np.abs(got[name] - expected).max()) / scale
        if not np.isfinite(got[name]).all():
            err = float("inf")
        if err > worst:
            worst, worst_name = err, name
    loss_err = abs(got_loss - loss.item())
    print(f"{family}: {len(W)} parameters, loss {loss.item():.6f} (anatomy {got_loss:.6f}), worst gradient "
          f"{worst_name}: {worst:.2e} of its largest element (limit 1e-4)")
    if worst > 1e-4 or loss_err > 1e-5:
        sys.exit(f"{family}: FAILED")


if __name__ == "__main__":
    main()
