#!/usr/bin/python3
"""PyTorch reference forward passes, written from shared/ARCHITECTURES.md (not from anatomy's
code), and the golden check: build a small random model of FAMILY, save it as config.json +
model.safetensors, run `anatomy run` on it, and compare every logit (float64 reference).

usage: reference.py FAMILY ANATOMY_BIN WORKDIR
"""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
F = torch.nn.functional
IDS = [3, 17, 5, 42, 8, 0, 29, 11, 60, 7, 1]


# ---------------------------------------------------------------- shared blocks (§3)
def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def inv_freq(dim, theta, scaling=None):
    f = theta ** (-torch.arange(0, dim, 2) / dim)
    if scaling and scaling.get("rope_type") == "llama3":
        L, lo, hi, fac = (scaling["original_max_position_embeddings"], scaling["low_freq_factor"],
                          scaling["high_freq_factor"], scaling["factor"])
        out = []
        for x in f.tolist():
            wl = 2 * math.pi / x
            if wl < L / hi:
                out.append(x)
            elif wl > L / lo:
                out.append(x / fac)
            else:
                s = (L / wl - lo) / (hi - lo)
                out.append((1 - s) * x / fac + s * x)
        f = torch.tensor(out)
    return f


def rope(x, freq):  # x [T, H, hd], rotate-half pairing
    T, half = x.shape[0], x.shape[-1] // 2
    ang = torch.arange(T)[:, None] * freq[None, :]
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1)[:, None], torch.cat([ang.sin(), ang.sin()], -1)[:, None]
    rot = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rot * sin


def attention(q, k, v, scale, window=0):  # q [T, Hq, hd], k/v [T, Hkv, hd]; causal
    """§13: with a sliding window, key j is visible to query t iff j > t - window."""
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
    s = torch.einsum("thd,shd->hts", q, k) * scale
    T = q.shape[0]
    hidden = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    if window:
        hidden |= torch.tril(torch.ones(T, T, dtype=torch.bool), -window)
    s = s.masked_fill(hidden, float("-inf"))
    return torch.einsum("hts,shd->thd", s.softmax(-1), v).reshape(T, -1)


def lin(x, W, b=None):
    return x @ W.T + (b if b is not None else 0)


def mamba_mixer(u, W, p, H, P, N, G, eps=1e-5, dt_min=0.0, act=F.silu, dt_max=float("inf")):
    """§3.6, recurrent form; W: dict of tensors, p: name prefix ('...mixer.'); Δ clamped to ≥ dt_min
    (§3 step 4: Zamba2 and Nemotron-H clamp at time_step_min)."""
    D_in, GN = H * P, G * N
    zxbcdt = lin(u, W[p + "in_proj.weight"])
    z, xBC, dt = zxbcdt[:, :D_in], zxbcdt[:, D_in:2 * D_in + 2 * GN], zxbcdt[:, 2 * D_in + 2 * GN:]
    w, T = W[p + "conv1d.weight"], u.shape[0]
    K = w.shape[-1]
    xpad = torch.cat([torch.zeros(K - 1, xBC.shape[1]), xBC])
    conv = sum(w[:, 0, k] * xpad[k:k + T] for k in range(K)) + W.get(p + "conv1d.bias", 0)
    xBC = act(conv)
    x, Bm, Cm = xBC[:, :D_in].view(T, H, P), xBC[:, D_in:D_in + GN].view(T, G, N), xBC[:, D_in + GN:].view(T, G, N)
    dt = F.softplus(dt + W[p + "dt_bias"]).clamp(min=dt_min, max=dt_max)
    A = -torch.exp(W[p + "A_log"])
    S = [torch.zeros(P, N) for _ in range(H)]  # a list, not written in place: grad_check differentiates this
    rows = []
    for t in range(T):
        row = []
        for h in range(H):
            g = h // (H // G)
            S[h] = torch.exp(dt[t, h] * A[h]) * S[h] + dt[t, h] * torch.outer(x[t, h], Bm[t, g])
            row.append(S[h] @ Cm[t, g] + W[p + "D"][h] * x[t, h])
        rows.append(torch.stack(row))
    y = torch.stack(rows)
    v = y.reshape(T, D_in) * F.silu(z)
    v = v.view(T, G, D_in // G)
    v = (v * torch.rsqrt((v * v).mean(-1, keepdim=True) + eps)).reshape(T, D_in) * W[p + "norm.weight"]
    return lin(v, W[p + "out_proj.weight"])


# ---------------------------------------------------------------- families
def llama_like(cfg, W, ids):
    d, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", d // H)
    eps = cfg["rms_norm_eps"]
    rp = cfg.get("rope_parameters")  # transformers 5's spelling of rope_theta + rope_scaling (§13)
    freq = inv_freq(hd, rp["rope_theta"], rp) if rp else inv_freq(hd, cfg.get("rope_theta", 10000.0), cfg.get("rope_scaling"))
    h = W["model.embed_tokens.weight"][ids]
    T = len(ids)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        window = 0  # §13: Mistral slides on every layer, Qwen2/3 on layers ≥ max_window_layers when enabled
        if cfg["model_type"] == "mistral" and cfg.get("sliding_window"):
            window = cfg["sliding_window"]
        if cfg["model_type"] in ("qwen2", "qwen3") and cfg.get("use_sliding_window") and i >= cfg["max_window_layers"]:
            window = cfg["sliding_window"]
        n = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        proj = lambda name, heads: lin(n, W[p + f"self_attn.{name}.weight"], W.get(p + f"self_attn.{name}.bias")).view(T, heads, hd)
        q, k, v = proj("q_proj", H), proj("k_proj", KV), proj("v_proj", KV)
        if p + "self_attn.q_norm.weight" in W:
            q, k = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps), rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        h = h + lin(attention(rope(q, freq), rope(k, freq), v, hd ** -0.5, window), W[p + "self_attn.o_proj.weight"])
        n = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        mlp = F.silu(lin(n, W[p + "mlp.gate_proj.weight"])) * lin(n, W[p + "mlp.up_proj.weight"])
        h = h + lin(mlp, W[p + "mlp.down_proj.weight"])
    h = rms_norm(h, W["model.norm.weight"], eps)
    return lin(h, W.get("lm_head.weight", W["model.embed_tokens.weight"]))


def gpt(cfg, W, ids, nano):
    C, H = cfg["n_embd"], cfg["n_head"]
    T, hd = len(ids), C // H
    h = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][:T]
    act = F.gelu if nano else gelu_tanh
    # nanoGPT's Linear computes x·Wᵀ; GPT-2's Conv1D computes x·W (weights stored [in, out]).
    mm = (lambda x, w, b: lin(x, w, b)) if nano else (lambda x, w, b: x @ w + b)
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        ln = lambda x, name: layer_norm(x, W[p + name + ".weight"], W.get(p + name + ".bias"), 1e-5)
        qkv = mm(ln(h, "ln_1"), W[p + "attn.c_attn.weight"], W.get(p + "attn.c_attn.bias"))
        q, k, v = (qkv[:, j * C:(j + 1) * C].view(T, H, hd) for j in range(3))
        scale = hd ** -0.5 / ((i + 1) if cfg.get("scale_attn_by_inverse_layer_idx") else 1)  # §13
        h = h + mm(attention(q, k, v, scale), W[p + "attn.c_proj.weight"], W.get(p + "attn.c_proj.bias"))
        a = act(mm(ln(h, "ln_2"), W[p + "mlp.c_fc.weight"], W.get(p + "mlp.c_fc.bias")))
        h = h + mm(a, W[p + "mlp.c_proj.weight"], W.get(p + "mlp.c_proj.bias"))
    h = layer_norm(h, W["transformer.ln_f.weight"], W.get("transformer.ln_f.bias"), 1e-5)
    return lin(h, W.get("lm_head.weight", W["transformer.wte.weight"]), W.get("lm_head.bias"))


def mamba2(cfg, W, ids):
    H, P, N, G = cfg["num_heads"], cfg["head_dim"], cfg["state_size"], cfg["n_groups"]
    h = W["backbone.embeddings.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"backbone.layers.{i}."
        act = {"silu": F.silu, "relu": F.relu, "gelu": F.gelu}[cfg.get("hidden_act", "silu")]
        lo, hi = cfg.get("time_step_limit", (0.0, float("inf")))
        h = h + mamba_mixer(rms_norm(h, W[p + "norm.weight"], 1e-5), W, p + "mixer.", H, P, N, G, act=act,
                            dt_min=lo, dt_max=hi)
    h = rms_norm(h, W["backbone.norm_f.weight"], 1e-5)
    return lin(h, W.get("lm_head.weight", W["backbone.embeddings.weight"]))


def nemotron_h(cfg, W, ids):
    H, P, N, G = cfg["mamba_num_heads"], cfg["mamba_head_dim"], cfg["ssm_state_size"], cfg["n_groups"]
    Hq, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    h, T = W["backbone.embeddings.weight"][ids], len(ids)
    for i, kind in enumerate(cfg["hybrid_override_pattern"]):
        p = f"backbone.layers.{i}."
        n = rms_norm(h, W[p + "norm.weight"], 1e-5)
        if kind == "M":
            y = mamba_mixer(n, W, p + "mixer.", H, P, N, G, dt_min=cfg.get("time_step_min", 0.001))
        elif kind == "*":  # no positional encoding at all
            q = lin(n, W[p + "mixer.q_proj.weight"]).view(T, Hq, hd)
            k, v = (lin(n, W[p + f"mixer.{x}_proj.weight"]).view(T, KV, hd) for x in "kv")
            y = lin(attention(q, k, v, hd ** -0.5), W[p + "mixer.o_proj.weight"])
        else:
            y = lin(F.relu(lin(n, W[p + "mixer.up_proj.weight"])) ** 2, W[p + "mixer.down_proj.weight"])
        h = h + y
    h = rms_norm(h, W["backbone.norm_f.weight"], 1e-5)
    return lin(h, W["lm_head.weight"])


def zamba2(cfg, W, ids):
    d, Hq = cfg["hidden_size"], cfg["num_attention_heads"]
    hd, I = 2 * d // Hq, cfg["intermediate_size"]
    Hm = cfg["n_mamba_heads"]
    P, N, G = cfg["mamba_expand"] * d // Hm, cfg["mamba_d_state"], cfg["mamba_ngroups"]
    freq = inv_freq(hd, cfg["rope_theta"])
    e0 = W["model.embed_tokens.weight"][ids]
    h, T, j = e0, len(ids), 0
    s = "model.layers.%d.shared_transformer." % [i for i, t in enumerate(cfg["layers_block_type"]) if t == "hybrid"][0]
    for i, kind in enumerate(cfg["layers_block_type"]):
        p = f"model.layers.{i}."
        if kind == "hybrid":
            a = rms_norm(torch.cat([h, e0], -1), W[s + "input_layernorm.weight"], 1e-5)
            ad = lambda name, x: lin(lin(x, W[s + f"{name}.{j}.0.weight"]), W[s + f"{name}.{j}.1.weight"])
            q = (lin(a, W[s + "self_attn.q_proj.weight"]) + ad("self_attn.linear_q_adapter_list", a)).view(T, Hq, hd)
            k = (lin(a, W[s + "self_attn.k_proj.weight"]) + ad("self_attn.linear_k_adapter_list", a)).view(T, Hq, hd)
            v = (lin(a, W[s + "self_attn.v_proj.weight"]) + ad("self_attn.linear_v_adapter_list", a)).view(T, Hq, hd)
            o = lin(attention(rope(q, freq), rope(k, freq), v, (hd / 2) ** -0.5), W[s + "self_attn.o_proj.weight"])
            t = rms_norm(o, W[s + "pre_ff_layernorm.weight"], 1e-5)
            g = lin(t, W[s + "feed_forward.gate_up_proj.weight"]) + ad("feed_forward.gate_up_proj_adapter_list", t)
            t = lin(F.gelu(g[:, :I]) * g[:, I:], W[s + "feed_forward.down_proj.weight"])
            t = lin(t, W[p + "linear.weight"])
            m = p + "mamba_decoder."
            h = h + mamba_mixer(rms_norm(h + t, W[m + "input_layernorm.weight"], 1e-5), W, m + "mamba.", Hm, P, N, G,
                                dt_min=cfg.get("time_step_min", 0.001))
            j += 1
        else:
            h = h + mamba_mixer(rms_norm(h, W[p + "input_layernorm.weight"], 1e-5), W, p + "mamba.", Hm, P, N, G,
                                dt_min=cfg.get("time_step_min", 0.001))
    h = rms_norm(h, W["model.final_layernorm.weight"], 1e-5)
    return lin(h, W["model.embed_tokens.weight"])


def transformer_encdec(cfg, W, ids, src):
    """hyunwoongko/transformer (§4): post-LN, sinusoidal positions, masks filled with -10000; the
    encoder reads `src` (padding masked as keys), the decoder `ids` (padding masked as queries)."""
    d, H, pad = cfg["d_model"], cfg["n_head"], cfg["src_pad_idx"]
    hd = d // H

    def pe(T):
        pos = torch.arange(T)[:, None] / 10000 ** (torch.arange(0, d, 2)[None, :] / d)
        out = torch.zeros(T, d)
        out[:, 0::2], out[:, 1::2] = pos.sin(), pos.cos()
        return out

    ln = lambda x, p: layer_norm(x, W[p + ".gamma"], W[p + ".beta"], cfg["layer_norm_eps"])
    ff = lambda x, p: lin(F.relu(lin(x, W[p + ".linear1.weight"], W[p + ".linear1.bias"])),
                          W[p + ".linear2.weight"], W[p + ".linear2.bias"])

    def mha(p, q_in, kv_in, mask):  # mask [Tq, Tk], True = keep
        proj = lambda n, x: lin(x, W[f"{p}.{n}.weight"], W[f"{p}.{n}.bias"]).view(x.shape[0], H, hd)
        q, k, v = proj("w_q", q_in), proj("w_k", kv_in), proj("w_v", kv_in)
        s = (torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd)).masked_fill(~mask, -10000)
        o = torch.einsum("hts,shd->thd", s.softmax(-1), v).reshape(q_in.shape[0], d)
        return lin(o, W[p + ".w_concat.weight"], W[p + ".w_concat.bias"])

    S, T = len(src), len(ids)
    src_keep, trg_keep = src != pad, ids != cfg["trg_pad_idx"]
    x = W["encoder.emb.tok_emb.weight"][src] + pe(S)
    for i in range(cfg["n_layers"]):
        p = f"encoder.layers.{i}"
        x = ln(x + mha(p + ".attention", x, x, src_keep[None, :].expand(S, S)), p + ".norm1")
        x = ln(x + ff(x, p + ".ffn"), p + ".norm2")
    y = W["decoder.emb.tok_emb.weight"][ids] + pe(T)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg["n_layers"]):
        p = f"decoder.layers.{i}"
        y = ln(y + mha(p + ".self_attention", y, y, trg_keep[:, None] & causal), p + ".norm1")
        y = ln(y + mha(p + ".enc_dec_attention", y, x, src_keep[None, :].expand(T, S)), p + ".norm2")
        y = ln(y + ff(y, p + ".ffn"), p + ".norm3")
    return lin(y, W["decoder.linear.weight"], W["decoder.linear.bias"])


# ---------------------------------------------------------------- small configs
LLAMA = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 97, "rms_norm_eps": 1e-5,
         "rope_theta": 10000.0, "tie_word_embeddings": True,
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}
CONFIGS = {
    "llama": LLAMA,
    "qwen2": dict(LLAMA, model_type="qwen2", tie_word_embeddings=False, rope_scaling=None),
    "qwen3": dict(LLAMA, model_type="qwen3", head_dim=24, rope_scaling=None),
    "gpt2": {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 97, "n_positions": 32},
    "nanogpt": {"model_type": "nanogpt", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 65,
                "block_size": 32, "bias": True, "tie_word_embeddings": False, "lm_head_bias": True},
    "mamba2": {"model_type": "mamba2", "hidden_size": 64, "num_heads": 8, "head_dim": 16, "state_size": 16,
               "n_groups": 2, "expand": 2, "num_hidden_layers": 2, "vocab_size": 97, "conv_kernel": 4,
               "tie_word_embeddings": True},
    "nemotron_h": {"model_type": "nemotron_h", "hidden_size": 64, "num_hidden_layers": 4,
                   "hybrid_override_pattern": "M*-M", "mamba_num_heads": 8, "mamba_head_dim": 16,
                   "ssm_state_size": 16, "n_groups": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                   "head_dim": 16, "intermediate_size": 96, "vocab_size": 97},
    "zamba2": {"model_type": "zamba2", "hidden_size": 32, "num_hidden_layers": 5,
               "layers_block_type": ["mamba", "hybrid", "mamba", "hybrid", "mamba"], "num_attention_heads": 4,
               "num_key_value_heads": 4, "n_mamba_heads": 4, "mamba_expand": 2, "mamba_d_state": 8,
               "mamba_ngroups": 1, "intermediate_size": 48, "adapter_rank": 4, "use_shared_attention_adapter": True,
               "use_shared_mlp_adapter": True, "use_mem_rope": True, "rope_theta": 10000, "vocab_size": 97},
    # §13 cases: sliding windows, transformers 5's rope_parameters, GPT-2's inverse layer scaling,
    # Mamba2's hidden_act and Zamba2/Nemotron-H's Δ clamp (their default time_step_min, above).
    "mistral": dict(LLAMA, model_type="mistral", rope_scaling=None, sliding_window=4),
    "qwen2_sliding": dict(LLAMA, model_type="qwen2", rope_scaling=None, use_sliding_window=True,
                          sliding_window=3, max_window_layers=1),
    "llama_rope_parameters": {k: v for k, v in LLAMA.items() if k not in ("rope_theta", "rope_scaling")} | {
        "rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                            "high_freq_factor": 4.0, "original_max_position_embeddings": 64}},
    "gpt2_inverse_scale": {"model_type": "gpt2", "n_embd": 64, "n_layer": 3, "n_head": 4, "vocab_size": 97,
                           "n_positions": 32, "scale_attn_by_inverse_layer_idx": True},
    "mamba2_relu": {"model_type": "mamba2", "hidden_size": 64, "num_heads": 8, "head_dim": 16, "state_size": 16,
                    "n_groups": 2, "expand": 2, "num_hidden_layers": 2, "vocab_size": 97, "conv_kernel": 4,
                    "hidden_act": "relu", "time_step_limit": [0.08, 0.2]},
    # Δ clamps that bind for many tokens and heads (time_step_min far above the default 0.001)
    "nemotron_h_clamp": {"model_type": "nemotron_h", "hidden_size": 64, "num_hidden_layers": 4,
                         "hybrid_override_pattern": "M*-M", "mamba_num_heads": 8, "mamba_head_dim": 16,
                         "ssm_state_size": 16, "n_groups": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                         "head_dim": 16, "intermediate_size": 96, "vocab_size": 97, "time_step_min": 0.15},
    "transformer_encdec": {"model_type": "transformer_encdec", "d_model": 16, "n_head": 4, "ffn_hidden": 24,
                           "n_layers": 2, "enc_voc_size": 97, "dec_voc_size": 97, "src_pad_idx": 1,
                           "trg_pad_idx": 1, "layer_norm_eps": 1e-12},
}
FORWARD = {"llama": llama_like, "qwen2": llama_like, "qwen3": llama_like, "mamba2": mamba2,
           "mistral": llama_like, "qwen2_sliding": llama_like, "llama_rope_parameters": llama_like,
           "gpt2_inverse_scale": lambda c, W, i: gpt(c, W, i, nano=False), "mamba2_relu": mamba2,
           "nemotron_h_clamp": nemotron_h,
           "gpt2": lambda c, W, i: gpt(c, W, i, nano=False), "nanogpt": lambda c, W, i: gpt(c, W, i, nano=True),
           "nemotron_h": nemotron_h, "zamba2": zamba2, "transformer_encdec": transformer_encdec}


def parameter_shapes(anatomy, workdir, family):
    """Names and shapes anatomy expects; the values are drawn here."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump(CONFIGS[family], f)
    out = subprocess.run([anatomy, "inspect", os.path.join(workdir, "config.json"), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return [(t["name"], t["shape"]) for t in json.loads(out)["params"]["tensors"] if "tied_to" not in t]


def random_weights(shapes, seed):
    g = torch.Generator().manual_seed(seed)
    W = {}
    for name, shape in shapes:
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "beta":
            W[name] = 0.1 * torch.randn(shape, generator=g)
        elif "norm" in name and leaf in ("weight", "gamma") or name.endswith("ln_1.weight") or name.endswith("ln_2.weight") \
                or name.endswith("ln_f.weight"):
            W[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        elif leaf == "A_log":
            W[name] = torch.log(1 + 7 * torch.rand(shape, generator=g))
        elif leaf == "dt_bias":
            W[name] = -2 + torch.randn(shape, generator=g)
        else:
            W[name] = 0.15 * torch.randn(shape, generator=g)
        W[name] = W[name].to(torch.float32).to(torch.float64)  # exactly representable in the f32 file
    return W


def write_safetensors(path, W):
    header, blobs, offset = {}, [], 0
    for name, t in W.items():
        data = t.to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    family, anatomy, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    cfg = CONFIGS[family]
    W = random_weights(parameter_shapes(anatomy, workdir, family), seed=len(family))
    write_safetensors(os.path.join(workdir, "model.safetensors"), W)
    ids = IDS[: min(len(IDS), cfg.get("block_size", 64))]
    ids = [i % cfg.get("vocab_size", cfg.get("dec_voc_size", 0)) for i in ids]
    got_path = os.path.join(workdir, "logits.npy")
    args = [anatomy, "run", workdir, "--ids", ",".join(map(str, ids)), "--dump-logits", got_path]
    if family == "transformer_encdec":  # a source unlike the target: other ids, another length, a pad
        src = [5, 1, 60, 9, 33, 2, 71, 12, 1, 40, 8, 19, 3, 90]
        expected = FORWARD[family](cfg, W, torch.tensor(ids), torch.tensor(src)).numpy()
        args += ["--source-ids", ",".join(map(str, src))]
    else:
        expected = FORWARD[family](cfg, W, torch.tensor(ids)).numpy()
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{family}: anatomy run failed: {r.stderr.strip()}")
    got = np.load(got_path)[0]
    if got.shape != expected.shape:
        sys.exit(f"{family}: logits shape {got.shape}, reference {expected.shape}")
    err = float(np.abs(got - expected).max())
    scale = float(np.abs(expected).max())
    print(f"{family}: {len(ids)} tokens, vocab {expected.shape[1]}, max |logit| {scale:.3f}, "
          f"max abs difference {err:.2e} (limit 1e-4)")
    if not np.isfinite(got).all() or err > 1e-4:
        sys.exit(f"{family}: FAILED")


if __name__ == "__main__":
    main()
