#!/usr/bin/python3
"""The seed reports reproduced: seeds 001 (English), 002 and 003 (Russian) and 004 (Traditional
Chinese) made by `anatomy report` in the seed's language, with every section the seed has and the
corrected figures (shared/ARCHITECTURES.md §11: no "None", warm-up not counted, FLOPs from the
module tree, a tied head counted once).

- 001: the nanoGPT character model of seed 001 (untied head with bias: 210,497 parameters), trained
  here by `anatomy train` on tinyshakespeare with the seed's recipe (plain SGD, lr 3e-4, batch 32 × 32
  tokens), for a few steps.
- 002: NVIDIA-Nemotron-Nano-9B-v2's config with one layer of each block kind (M, -, *) and its full
  width and vocabulary, 61 tokens, synthetic weights (the full-size report: bench/seed_reports.sh).
- 003: Zamba2-1.2B at full size, 35 tokens, synthetic weights.
- 004: Llama 3.2 3B, the meta run (the seed has no timings).

usage: seed_check.py ANATOMY_BIN SHARED_DIR WORKDIR
"""
import json
import os
import shutil
import sys

from harness import BAD_WORDS, Checks, catalog, sections_of

ANATOMY, SHARED, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
checks = Checks(ANATOMY)
run, check = checks.run, checks.check
# Seeds 002 and 003 have no generation, perplexity or training: their sections only (the summary,
# the config's dimensions, the blocks' components and parameters, FLOPs, the profile and its charts).
SEED_SECTIONS = "summary,config,components,arithmetic,modules,flops,profile"


def report(label, model, lang, args):
    out = os.path.join(WORK, label)
    shutil.rmtree(out, ignore_errors=True)
    run(["report", model, "--lang", lang, "--out", out] + args)
    doc = json.load(open(os.path.join(out, "report.json"), encoding="utf-8"))
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    cat = catalog(lang)
    body = sections_of(md)
    section = lambda name: body.get(cat["section." + name], "")
    for bad in BAD_WORDS.findall(md):
        check(False, f"{label}: '{bad}' printed")
    return doc, md, section, cat


def has(label, text, *needles):
    for n in needles:
        check(n in text, f"{label}: {n!r} missing")


def seed_001():
    data = os.path.join(SHARED, "data", "tinyshakespeare.txt")
    trained = os.path.join(WORK, "seed001_run")
    shutil.rmtree(trained, ignore_errors=True)
    run(["train", "--config", "nanogpt-shakespeare-char-seed", "--data", data, "--out", trained, "--optimizer", "sgd", "--lr", "3e-4",
         "--batch", "32", "--block", "32", "--steps", "20", "--eval-every", "10", "--eval-iters", "2"])
    # Perplexity on the first 20 kB (a report scores every window of its text).
    sample = os.path.join(WORK, "tinyshakespeare_20k.txt")
    with open(data, encoding="utf-8") as f, open(sample, "w", encoding="utf-8") as g:
        g.write(f.read(20000))
    doc, md, section, cat = report("seed001", os.path.join(trained, "best"), "en",
                                   ["--text", sample, "--tokens", "32", "--repeat", "2", "--warmup", "1"])
    # 1. architecture: components of the decoder-only model, 4 blocks, 4 heads, GELU MLP 64 → 256 → 64.
    has("001 architecture", section("components"), "4 heads", "head dimension 16", "`gelu`", "width 256", "causal mask",
        "Learned absolute position embeddings (`wpe`, 32 positions)", "has its own matrix")
    has("001 diagram", section("diagram"), "Block ×4 · layers 0–3", "c_attn", "c_proj", "c_fc", "lm_head")
    # 2. sizes and dimensions, and the parameter arithmetic with its corrected total.
    has("001 dimensions", section("config"), "| `vocab_size` | 65 |", "| `n_embd` | 64 |", "| `block_size` | 32 |", "| `n_layer` | 4 |",
        "| `n_head` | 4 |", "| `head_dim` | 16 |")
    has("001 arithmetic", section("arithmetic"), "`65×64`", "`32×64`", "49,984", "×4 (layers 0–3)", "199,936", "**210,497**")
    check(doc["inspect"]["params"]["total"] == 210497, "001: parameters")
    # 3. learning hyperparameters: the recipe as trained, tokens per step, the loss.
    has("001 recipe", section("training"), "| `optimizer` | sgd |", "| `lr` | 0.0003 |", "| `batch` | 32 |", "| `steps` | 20 |",
        "Tokens per optimizer step: 1,024 (32 sequences × 32 tokens × 1 accumulation steps)", "cross-entropy")
    # 4. inference: generation and perplexity with their protocols; the training curve.
    has("001 inference", section("bench"), "Generation of 16 + 16 tokens", "(greedy)")
    has("001 perplexity", section("eval"), "Perplexity:", "llama-perplexity windows")
    check([c["name"] for c in doc["charts"]] == ["layer_time", "type_time", "block_time", "runtime_scaling", "training"], f"001 charts {doc['charts']}")


def seed_002():
    config = json.load(open(os.path.join(SHARED, "models", "nvidia-nemotron-nano-9b-v2", "config.json")))
    config["hybrid_override_pattern"], config["num_hidden_layers"] = "M-*", 3
    folder = os.path.join(WORK, "nemotron_3_layers")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    doc, md, section, cat = report("seed002", folder, "ru", ["--tokens", "61", "--repeat", "1", "--warmup", "1", "--sections", SEED_SECTIONS])
    s = section("summary")
    p = doc["profile"]
    # General parameters: forward time (warm-up not counted), hidden size, length, blocks, parameters, FLOPs, rate.
    has("002 summary", s, "Слоёв: 3, размер скрытого пространства 4\u00a0480", "на 61 токенов", "Количество параметров (уникальных): ",
        "FLOPs на forward-pass: ")
    check(p["options"]["warmup"] == 1 and len(p["timing"]["plain_passes_ms"]) == 1, "002: warm-up counted")
    # Transformer blocks: heads, KV heads, head size, attention type, FFN width — never None.
    has("002 blocks", section("components"), "40 голов запросов делят 8 голов", "размер головы 128", "ширина 15\u00a0680",
        "Гибридная схема слоёв `M-*`", "Смеситель Mamba2: 128 SSM-голов размерности 80")
    has("002 arithmetic", section("arithmetic"), "×1 (слои 0)", "×1 (слои 1)", "×1 (слои 2)")
    # Charts, per-block efficiency, time by type, slowest modules.
    check([c["name"] for c in doc["charts"]][:3] == ["layer_time", "type_time", "block_time"], f"002 charts {doc['charts']}")
    prof = section("profile")
    has("002 profile", prof, cat["profile.blocks"], cat["profile.types"], "Самые медленные модули (20", "`backbone.layers.2`")
    check(len(p["blocks"]) == 3, "002: blocks")


def seed_003():
    doc, md, section, cat = report("seed003", "zamba2-1.2b", "ru", ["--tokens", "35", "--repeat", "1", "--warmup", "1", "--sections", SEED_SECTIONS])
    check("bench" not in doc and doc["sections"] == SEED_SECTIONS.split(","), "003: only the seed's sections")
    has("003 summary", section("summary"), "Слоёв: 38, размер скрытого пространства 2\u00a0048, словарь 32\u00a0000",
        "Количество параметров (уникальных): 1\u00a0215\u00a0064\u00a0704", "на 35 токенов")
    # FLOPs by class (linear and conv, attention, SSM) and their total, from the module tree.
    f = doc["inspect"]["flops"]["by_class"]
    has("003 flops", section("flops"), "линейные слои", "внимание (QKᵀ и P·V)", "SSM-сканирование", "свёртка")
    check(abs(doc["profile"]["flops"]["total"] - doc["inspect"]["flops"]["total"]) < 1, "003: one FLOP count")
    check(f["ssm"] > 0 and f["attention"] > 0, "003: classes")
    # One block's information: the layer kinds with their parts, the shared block.
    has("003 block", section("arithmetic"), "Zamba2MambaDecoderLayer (Zamba2MambaMixer)", "×32 (слои 0–4, 6–10", "×6 (слои 5, 11, 17",
        "применяется ×6")
    prof = section("profile")
    has("003 profile", prof, "SSM-сканирование", cat["profile.types"], "Самые медленные модули (20", "Zamba2MambaMixer")
    check(len(doc["profile"]["blocks"]) == 38, "003: 38 blocks")


def seed_004():
    doc, md, section, cat = report("seed004", "llama-3.2-3b", "zh-TW", ["--meta"])
    has("004 basic", section("config"), "| `model_type` | llama |", "| `hidden_size` | 3072 |", "| `num_hidden_layers` | 28 |",
        "| `num_attention_heads` | 24 |", "| `num_key_value_heads` | 8 |", "| `head_dim` | 128 |", "| `intermediate_size` | 8192 |",
        "| `vocab_size` | 128256 |", "| `max_position_embeddings` | 131072 |", "| `rope_theta` | 500000 |")
    has("004 diagram", section("diagram"), "×28 · layers 0–27", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
        "down_proj", "資料流：", "[model.layers.{0–27}] ×28")
    has("004 components", section("components"), "基數 θ = 500000", "24 個查詢頭共用 8 個鍵/值頭（每組 3 個查詢頭）", "√128",
        "門控 MLP（SwiGLU），寬度 8,192")
    has("004 tied", section("summary"), "參數量（不重複計算）：3,212,749,824", "3,606,752,256")
    has("004 layers", section("modules"), "`model.layers.27`", "LlamaDecoderLayer")


def main():
    os.makedirs(WORK, exist_ok=True)
    for seed in (seed_001, seed_002, seed_003, seed_004):
        seed()
        print("ok", seed.__name__)
    checks.finish()


main()
