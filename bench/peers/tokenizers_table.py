"""Reads the JSON lines of bench_tokenize and tokenizers.mjs; prints one markdown table."""
import json
import sys


def vocab_of(t):
    for name in ("gpt2", "llama3", "qwen3"):
        if name in t:
            return name
    return t


rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
print("| vocabulary | implementation | one string MB/s | line by line MB/s | tokens (one string) |")
print("|---|---|---:|---:|---:|")
for vocab in ["gpt2", "llama3", "qwen3", "cl100k_base"]:
    for impl in ["anatomy", "hf-tokenizers (Rust, npm)", "tiktoken (WASM)"]:
        got = {r["mode"]: r for r in rows if r["impl"] == impl and vocab_of(r["tokenizer"]) == vocab}
        if not got:
            continue
        whole, lines = got["whole"], got["lines"]
        cold = f" (first pass {whole['cold_mb_s']:.1f})" if "cold_mb_s" in whole else ""
        print(f"| {vocab} | {impl} | {whole['median_mb_s']:.2f}{cold} | {lines['median_mb_s']:.2f} | {whole['tokens']} |")
