#!/usr/bin/python3
"""anatomy against llama.cpp: a small random model of FAMILY is written as safetensors (the
golden tests' generator), converted to GGUF by `anatomy convert`, evaluated by llama.cpp through
node-llama-cpp (logits.mjs) and by `anatomy run`; the top-10 next-token logits of llama.cpp must
match anatomy's within 1e-3 (f32 weights, f32 KV cache, no flash attention).

usage: check.py FAMILY ANATOMY_BIN WORKDIR
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import reference  # noqa: E402

CONFIGS = {
    "llama": dict(reference.CONFIGS["llama"], vocab_size=300, max_position_embeddings=64, rope_scaling=None),
    "qwen2": dict(reference.CONFIGS["qwen2"], vocab_size=300, max_position_embeddings=64),
    "qwen3": dict(reference.CONFIGS["qwen3"], vocab_size=300, max_position_embeddings=64),
    "gpt2": dict(reference.CONFIGS["gpt2"], vocab_size=300),
    "mamba2": dict(reference.CONFIGS["mamba2"], vocab_size=300),
    "nemotron_h": dict(reference.CONFIGS["nemotron_h"], vocab_size=300),
}


def main():
    family, anatomy, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    reference.CONFIGS[family] = CONFIGS[family]
    W = reference.random_weights(reference.parameter_shapes(anatomy, workdir, family), seed=7)
    reference.write_safetensors(os.path.join(workdir, "model.safetensors"), W)
    ids = ",".join(str(i) for i in reference.IDS)
    gguf = os.path.join(workdir, "model.gguf")
    subprocess.run([anatomy, "convert", workdir, "--gguf", gguf], check=True, capture_output=True)
    ours_path = os.path.join(workdir, "logits.npy")
    subprocess.run([anatomy, "run", workdir, "--ids", ids, "--dump-logits", ours_path], check=True, capture_output=True)
    ours = np.load(ours_path)[0, -1]
    out = subprocess.run(["node", os.path.join(HERE, "logits.mjs"), gguf, ids], check=True, capture_output=True,
                         text=True, cwd=HERE)
    theirs = np.array(json.loads(out.stdout.strip().splitlines()[-1])["logits"], dtype=np.float64)
    top = np.argsort(-theirs)[:10]
    err = float(np.abs(theirs[top] - ours[top]).max())
    print(f"{family}: llama.cpp vs anatomy, top-10 next-token logits, max abs difference {err:.2e} "
          f"(limit 1e-3); top-1 {int(np.argmax(theirs))} vs {int(np.argmax(ours))}")
    # The same GGUF run by anatomy: its tensors are converted from llama.cpp's layouts on load.
    gguf_path = os.path.join(workdir, "logits_gguf.npy")
    subprocess.run([anatomy, "run", gguf, "--ids", ids, "--dump-logits", gguf_path], check=True, capture_output=True)
    from_gguf = np.load(gguf_path)[0, -1]
    err_gguf = float(np.abs(theirs[top] - from_gguf[top]).max())
    same = float(np.abs(from_gguf - ours).max())
    print(f"{family}: anatomy on the GGUF vs llama.cpp, top-10 max abs difference {err_gguf:.2e} (limit 1e-3); "
          f"vs anatomy on the safetensors, every logit {same:.2e} (limit 1e-5)")
    if err > 1e-3 or int(np.argmax(theirs)) != int(np.argmax(ours)) or err_gguf > 1e-3 or same > 1e-5:
        sys.exit(f"{family}: FAILED")


if __name__ == "__main__":
    main()
