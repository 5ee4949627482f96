// The one place where GGUF's names (llama.cpp's convert_hf_to_gguf.py / constants.py) are
// mapped to Hugging Face names: tensor names and metadata keys.
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>

#include "core/error.h"
#include "core/half.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"

namespace anatomy::io {
namespace {

using Layout = GgufNameMapping::Layout;

struct NameRule {
  std::string_view gguf;  // stem without "blk.N." and without ".weight"/".bias"
  std::string_view hf;
  Layout layout = Layout::same;
  bool bare = false;  // HF name is a bare parameter: GGUF's ".weight"/".bias" suffix is dropped
};

struct ArchNames {
  std::string_view layer_prefix;  // HF prefix of layer N, "{}" stands for N
  std::vector<NameRule> globals;
  std::vector<NameRule> blocks;
};

const std::vector<NameRule> kMambaMixer = {
    {"ssm_in", "mixer.in_proj"},
    {"ssm_conv1d", "mixer.conv1d", Layout::reshaped},
    {"ssm_dt", "mixer.dt_bias", Layout::same, true},
    {"ssm_a", "mixer.A_log", Layout::neg_exp, true},
    {"ssm_d", "mixer.D", Layout::reshaped, true},
    {"ssm_norm", "mixer.norm", Layout::reshaped},
    {"ssm_out", "mixer.out_proj"},
};

std::vector<NameRule> concat(std::vector<NameRule> a, const std::vector<NameRule>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

ArchNames llama_like(Layout qk) {
  return {"model.layers.{}.",
          {{"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"}},
          {{"attn_norm", "input_layernorm"},
           {"attn_q", "self_attn.q_proj", qk},
           {"attn_k", "self_attn.k_proj", qk},
           {"attn_v", "self_attn.v_proj"},
           {"attn_output", "self_attn.o_proj"},
           {"attn_q_norm", "self_attn.q_norm"},
           {"attn_k_norm", "self_attn.k_norm"},
           {"ffn_norm", "post_attention_layernorm"},
           {"ffn_gate", "mlp.gate_proj"},
           {"ffn_up", "mlp.up_proj"},
           {"ffn_down", "mlp.down_proj"}}};
}

const std::map<std::string, ArchNames, std::less<>>& arch_names() {
  static const std::map<std::string, ArchNames, std::less<>> table = {
      {"llama", llama_like(Layout::rope_permuted)},
      {"qwen2", llama_like(Layout::same)},
      {"qwen3", llama_like(Layout::same)},
      {"gpt2",
       {"transformer.h.{}.",
        {{"token_embd", "transformer.wte"},
         {"position_embd", "transformer.wpe"},
         {"output_norm", "transformer.ln_f"},
         {"output", "lm_head"}},
        {{"attn_norm", "ln_1"},
         {"attn_qkv", "attn.c_attn", Layout::transposed},
         {"attn_output", "attn.c_proj", Layout::transposed},
         {"ffn_norm", "ln_2"},
         {"ffn_up", "mlp.c_fc", Layout::transposed},
         {"ffn_down", "mlp.c_proj", Layout::transposed}}}},
      {"mamba2",  // mamba_ssm's checkpoints say backbone.embedding: exported too, read back as HF's name
       {"backbone.layers.{}.",
        {{"token_embd", "backbone.embeddings"}, {"token_embd", "backbone.embedding"}, {"output_norm", "backbone.norm_f"},
         {"output", "lm_head"}},
        concat({{"attn_norm", "norm"}}, kMambaMixer)}},
      {"nemotron_h",
       {"backbone.layers.{}.",
        {{"token_embd", "backbone.embeddings"}, {"output_norm", "backbone.norm_f"}, {"output", "lm_head"}},
        concat({{"attn_norm", "norm"},
                {"attn_q", "mixer.q_proj"},
                {"attn_k", "mixer.k_proj"},
                {"attn_v", "mixer.v_proj"},
                {"attn_output", "mixer.o_proj"},
                {"ffn_up", "mixer.up_proj"},
                {"ffn_down", "mixer.down_proj"}},
               kMambaMixer)}},
  };
  return table;
}

const ArchNames& names_for(const std::string& arch) {
  auto it = arch_names().find(arch);
  if (it == arch_names().end())
    fail(ErrorKind::unsupported, "GGUF architecture '" + arch +
                                     "' is not supported (llama, qwen2, qwen3, gpt2, mamba2, nemotron_h)");
  return it->second;
}

// A layout change applies to a rule's weight (or bare parameter); its bias is a plain vector.
Layout effective_layout(const NameRule& r, std::string_view suffix) {
  return r.bare || suffix == ".weight" ? r.layout : Layout::same;
}

std::optional<GgufNameMapping> apply(const std::vector<NameRule>& rules, std::string_view stem,
                                     std::string_view suffix, const std::string& prefix) {
  for (const auto& r : rules) {
    if (r.gguf != stem) continue;
    GgufNameMapping m;
    m.layout = effective_layout(r, suffix);
    m.hf_name = prefix + std::string(r.hf) + std::string(r.bare ? "" : suffix);
    return m;
  }
  return std::nullopt;
}

}  // namespace

std::optional<GgufNameMapping> gguf_to_hf_name(const std::string& arch, const std::string& name) {
  const auto& names = names_for(arch);
  std::string_view n = name, suffix;
  for (std::string_view s : {".weight", ".bias"})
    if (n.size() > s.size() && n.substr(n.size() - s.size()) == s) {
      suffix = s;
      n.remove_suffix(s.size());
    }
  if (n.substr(0, 4) == "blk.") {
    const auto dot = n.find('.', 4);
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string layer(n.substr(4, dot - 4));
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    std::string prefix(names.layer_prefix);
    prefix.replace(prefix.find("{}"), 2, layer);
    return apply(names.blocks, n.substr(dot + 1), suffix, prefix);
  }
  return apply(names.globals, n, suffix, "");
}

std::optional<std::pair<std::string, GgufNameMapping::Layout>> hf_to_gguf_name(const std::string& arch,
                                                                                const std::string& hf_name) {
  const auto& names = names_for(arch);
  auto match = [&](const std::vector<NameRule>& rules, std::string_view rest, const std::string& gguf_prefix)
      -> std::optional<std::pair<std::string, GgufNameMapping::Layout>> {
    for (const auto& r : rules) {
      if (r.bare ? rest == r.hf : rest.substr(0, r.hf.size()) == r.hf && rest.size() > r.hf.size() &&
                                      (rest.substr(r.hf.size()) == ".weight" || rest.substr(r.hf.size()) == ".bias")) {
        const std::string suffix = r.gguf == "ssm_dt" ? ".bias" : r.bare ? "" : std::string(rest.substr(r.hf.size()));
        return std::make_pair(gguf_prefix + std::string(r.gguf) + suffix, effective_layout(r, rest.substr(r.hf.size())));
      }
    }
    return std::nullopt;
  };
  const std::string_view pattern = names.layer_prefix;
  const auto brace = pattern.find("{}");
  const std::string_view head = pattern.substr(0, brace), tail = pattern.substr(brace + 2);
  const std::string_view n = hf_name;
  if (n.substr(0, head.size()) == head) {
    const auto end = n.find(tail, head.size());
    const std::string_view layer = n.substr(head.size(), end - head.size());
    if (end != std::string_view::npos && !layer.empty() && layer.find_first_not_of("0123456789") == std::string_view::npos)
      return match(names.blocks, n.substr(end + tail.size()), "blk." + std::string(layer) + ".");
  }
  return match(names.globals, n, "");
}

namespace {

class Meta {
 public:
  Meta(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}
  const ordered_json* find(const std::string& key) const {
    auto it = f_.metadata.find(arch_ + "." + key);
    return it == f_.metadata.end() ? nullptr : &*it;
  }
  ordered_json get(const std::string& key) const {
    const auto* v = find(key);
    if (!v) fail_at(ErrorKind::format, f_.path, arch_ + "." + key, "missing");
    return *v;
  }
  uint64_t u(const std::string& key) const { return as_uint(get(key), key); }
  // Per-layer arrays (nemotron_h) or one value for every layer.
  std::vector<uint64_t> per_layer(const std::string& key, uint64_t layers) const {
    const auto v = get(key);
    if (!v.is_array()) return std::vector<uint64_t>(layers, as_uint(v, key));
    if (v.size() != layers)
      fail_at(ErrorKind::format, f_.path, arch_ + "." + key,
              "has " + std::to_string(v.size()) + " entries for " + std::to_string(layers) + " layers");
    std::vector<uint64_t> out;
    for (const auto& x : v) out.push_back(as_uint(x, key));
    return out;
  }
  double f(const std::string& key, double fallback) const {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) fail_at(ErrorKind::format, f_.path, arch_ + "." + key, "is not a number");
    return v->get<double>();
  }

 private:
  uint64_t as_uint(const ordered_json& v, const std::string& key) const {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > (uint64_t{1} << 31))
      fail_at(ErrorKind::format, f_.path, arch_ + "." + key, v.dump() + " is not a count below 2^31");
    return v.get<uint64_t>();
  }
  const GgufFile& f_;
  std::string arch_;
};

const TensorEntry* find_tensor(const GgufFile& f, const std::string& name) {
  for (const auto& t : f.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

json llama_config(const GgufFile& f, const Meta& m, const std::string& arch) {
  json c;
  c["model_type"] = arch;
  c["hidden_size"] = m.u("embedding_length");
  c["num_hidden_layers"] = m.u("block_count");
  c["intermediate_size"] = m.u("feed_forward_length");
  c["num_attention_heads"] = m.u("attention.head_count");
  c["num_key_value_heads"] = m.find("attention.head_count_kv") ? m.u("attention.head_count_kv")
                                                               : m.u("attention.head_count");
  if (m.find("attention.key_length")) c["head_dim"] = m.u("attention.key_length");
  c["rms_norm_eps"] = m.f("attention.layer_norm_rms_epsilon", 1e-6);
  c["rope_theta"] = m.f("rope.freq_base", 10000.0);
  c["max_position_embeddings"] = m.find("context_length") ? m.u("context_length") : 2048;
  // attention_bias means every projection has one (o_proj included); Qwen2's q/k/v biases come with
  // its model_type, so only an output bias sets it.
  c["attention_bias"] = find_tensor(f, "blk.0.attn_output.bias") != nullptr;
  return c;
}

json gpt2_config(const Meta& m) {
  json c;
  c["model_type"] = "gpt2";
  c["n_embd"] = m.u("embedding_length");
  c["n_layer"] = m.u("block_count");
  c["n_head"] = m.u("attention.head_count");
  c["n_inner"] = m.u("feed_forward_length");
  c["n_positions"] = m.u("context_length");
  c["layer_norm_epsilon"] = m.f("attention.layer_norm_epsilon", 1e-5);
  return c;
}

// Shared by mamba2 and nemotron_h: the SSM hyper-parameters.
void ssm_config(json& c, const Meta& m, const std::string& heads_key, const std::string& head_dim_key) {
  const auto inner = m.u("ssm.inner_size"), heads = m.u("ssm.time_step_rank");
  if (heads == 0 || inner % heads != 0)
    fail(ErrorKind::format, "ssm.inner_size " + std::to_string(inner) +
                                " is not a multiple of ssm.time_step_rank " + std::to_string(heads));
  c[heads_key] = heads;
  c[head_dim_key] = inner / heads;
  c["n_groups"] = m.find("ssm.group_count") ? m.u("ssm.group_count") : 1;
  c["conv_kernel"] = m.u("ssm.conv_kernel");
}

json mamba2_config(const Meta& m) {
  json c;
  c["model_type"] = "mamba2";
  c["hidden_size"] = m.u("embedding_length");
  c["num_hidden_layers"] = m.u("block_count");
  c["state_size"] = m.u("ssm.state_size");
  ssm_config(c, m, "num_heads", "head_dim");
  c["expand"] = static_cast<double>(c["num_heads"].get<uint64_t>() * c["head_dim"].get<uint64_t>()) /
                static_cast<double>(c["hidden_size"].get<uint64_t>());
  c["layer_norm_epsilon"] = m.f("attention.layer_norm_rms_epsilon", 1e-5);
  return c;
}

json nemotron_h_config(const Meta& m) {
  json c;
  c["model_type"] = "nemotron_h";
  const auto layers = m.u("block_count");
  c["hidden_size"] = m.u("embedding_length");
  c["num_hidden_layers"] = layers;
  c["ssm_state_size"] = m.u("ssm.state_size");
  ssm_config(c, m, "mamba_num_heads", "mamba_head_dim");
  const auto heads = m.per_layer("attention.head_count", layers);
  const auto kv = m.per_layer("attention.head_count_kv", layers);
  const auto ffn = m.per_layer("feed_forward_length", layers);
  std::string pattern;
  uint64_t n_heads = 0, n_kv = 0, inter = 0;
  for (uint64_t i = 0; i < layers; ++i) {
    pattern += kv[i] > 0 ? '*' : ffn[i] > 0 ? '-' : 'M';
    n_heads = std::max(n_heads, heads[i]);
    n_kv = std::max(n_kv, kv[i]);
    inter = std::max(inter, ffn[i]);
  }
  c["hybrid_override_pattern"] = pattern;
  if (n_heads > 0) c["num_attention_heads"] = n_heads;
  if (n_kv > 0) c["num_key_value_heads"] = n_kv;
  if (m.find("attention.key_length")) c["head_dim"] = m.u("attention.key_length");
  if (inter > 0) c["intermediate_size"] = inter;
  c["layer_norm_epsilon"] = m.f("attention.layer_norm_rms_epsilon", 1e-5);
  return c;
}

}  // namespace

json gguf_to_hf_config(const GgufFile& f) {
  const std::string arch = f.architecture();
  names_for(arch);  // rejects unsupported architectures
  const Meta m(f, arch);
  json c;
  if (arch == "gpt2") c = gpt2_config(m);
  else if (arch == "mamba2") c = mamba2_config(m);
  else if (arch == "nemotron_h") c = nemotron_h_config(m);
  else c = llama_config(f, m, arch);
  const auto* embd = find_tensor(f, "token_embd.weight");
  if (!embd || embd->shape.size() != 2)
    fail_at(ErrorKind::format, f.path, "token_embd.weight", "missing or not 2-D");
  c["vocab_size"] = embd->shape[0];
  c["tie_word_embeddings"] = find_tensor(f, "output.weight") == nullptr;
  return c;
}

}  // namespace anatomy::io

namespace anatomy::io {

namespace {

// The same values in `dtype` (F32, F16 or BF16).
Tensor cast_to(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(dtype, t.shape());
  for (uint64_t i = 0; i < t.numel(); ++i) {
    const float v = element_f32(t, i);
    if (dtype == DType::F32) out.data<float>()[i] = v;
    else out.data<uint16_t>()[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return out;
}

Tensor to_layout_f32(const std::string& gguf_name, const Tensor& hf, GgufNameMapping::Layout layout, int64_t rope_heads,
                     int64_t norm_groups);

}  // namespace

// Layout changes are computed in f32 and stored back in the tensor's own dtype. Vectors (norms,
// biases, per-head parameters) are kept in f32, as llama.cpp's converter does and its CPU
// kernels require.
Tensor to_gguf_layout(const std::string& gguf_name, const Tensor& hf, GgufNameMapping::Layout layout, int64_t rope_heads,
                      int64_t norm_groups) {
  const DType dtype = hf.shape().size() == 1 ? DType::F32 : hf.dtype();
  if (layout == Layout::same) return cast_to(hf, dtype);
  return cast_to(to_layout_f32(gguf_name, hf, layout, rope_heads, norm_groups), dtype);
}

namespace {

Tensor to_layout_f32(const std::string& gguf_name, const Tensor& hf, GgufNameMapping::Layout layout, int64_t rope_heads,
                     int64_t norm_groups) {
  const Shape& s = hf.shape();
  Tensor out = Tensor::empty(DType::F32, s);
  auto at = [&](uint64_t i) { return element_f32(hf, i); };
  float* o = out.data<float>();
  switch (layout) {
    case Layout::transposed: {  // [in, out] -> [out, in]
      out = Tensor::empty(DType::F32, {s[1], s[0]});
      o = out.data<float>();
      for (int64_t i = 0; i < s[0]; ++i)
        for (int64_t j = 0; j < s[1]; ++j) o[j * s[0] + i] = at(static_cast<uint64_t>(i * s[1] + j));
      return out;
    }
    case Layout::rope_permuted: {  // HF rotate-half rows -> interleaved pairs, per head
      const int64_t rows = s[0], cols = s[1], hd = rows / rope_heads, half = hd / 2;
      for (int64_t h = 0; h < rope_heads; ++h)
        for (int64_t r = 0; r < hd; ++r) {
          const int64_t src = h * hd + (r % 2) * half + r / 2;  // row 2i <- i, row 2i+1 <- i + half
          for (int64_t c = 0; c < cols; ++c) o[(h * hd + r) * cols + c] = at(static_cast<uint64_t>(src * cols + c));
        }
      return out;
    }
    case Layout::neg_exp:
      for (uint64_t i = 0; i < hf.numel(); ++i) o[i] = -std::exp(at(i));
      return out.reshape({s[0], 1});
    case Layout::reshaped:
      for (uint64_t i = 0; i < hf.numel(); ++i) o[i] = at(i);
      if (s.size() == 3) return out.reshape({s[0], s[2]});                               // conv1d [C, 1, K]
      if (gguf_name.find("ssm_norm") != std::string::npos) return out.reshape({norm_groups, s[0] / norm_groups});
      return out.reshape({s[0], 1});                                                      // ssm_d
    case Layout::same: break;
  }
  return out;
}

}  // namespace

Tensor from_gguf_layout(const Tensor& stored, GgufNameMapping::Layout layout, int64_t rope_heads, const Shape& hf_shape) {
  const Shape& s = stored.shape();
  Tensor out = Tensor::empty(DType::F32, hf_shape);
  float* o = out.data<float>();
  auto at = [&](uint64_t i) { return element_f32(stored, i); };
  switch (layout) {
    case Layout::transposed:  // GGUF [out, in] -> HF Conv1D [in, out]
      for (int64_t i = 0; i < s[0]; ++i)
        for (int64_t j = 0; j < s[1]; ++j) o[j * s[0] + i] = at(static_cast<uint64_t>(i * s[1] + j));
      break;
    case Layout::rope_permuted: {  // interleaved pairs -> rotate-half rows, per head (the inverse of export)
      const int64_t rows = s[0], cols = s[1], hd = rows / rope_heads, half = hd / 2;
      for (int64_t h = 0; h < rope_heads; ++h)
        for (int64_t r = 0; r < hd; ++r) {
          const int64_t hf_row = h * hd + (r % 2) * half + r / 2;
          for (int64_t c = 0; c < cols; ++c) o[hf_row * cols + c] = at(static_cast<uint64_t>((h * hd + r) * cols + c));
        }
      break;
    }
    case Layout::neg_exp:  // A = -exp(A_log) -> A_log
      for (uint64_t i = 0; i < stored.numel(); ++i) o[i] = std::log(-at(i));
      break;
    case Layout::reshaped:
    case Layout::same:
      for (uint64_t i = 0; i < stored.numel(); ++i) o[i] = at(i);
      break;
  }
  return cast_to(out, stored.dtype() == DType::F32 || hf_shape.size() == 1 ? DType::F32 : stored.dtype());
}

std::string gguf_arch_for(const std::string& model_type) {
  if (model_type == "mistral") return "llama";
  if (arch_names().count(model_type)) return model_type;
  fail(ErrorKind::unsupported, "GGUF export of model_type '" + model_type +
                                   "' is not supported (llama, mistral, qwen2, qwen3, gpt2, mamba2, nemotron_h)");
}

namespace {

uint32_t u32(const json& config, const char* key) { return config.at(key).get<uint32_t>(); }

void write_ssm(GgufWriter& w, const std::string& a, const json& c) {
  w.add_u32(a + ".ssm.conv_kernel", u32(c, "conv_kernel"));
  w.add_u32(a + ".ssm.inner_size", u32(c, "ssm_inner_size"));
  w.add_u32(a + ".ssm.state_size", u32(c, "ssm_state_size"));
  w.add_u32(a + ".ssm.time_step_rank", u32(c, "ssm_heads"));
  w.add_u32(a + ".ssm.group_count", u32(c, "ssm_groups"));
}

}  // namespace

void write_gguf_metadata(GgufWriter& w, const std::string& arch, const json& c, int64_t vocab) {
  names_for(arch);
  w.add_string("general.architecture", arch);
  w.add_string("general.name", "anatomy export");
  const std::string& a = arch;
  if (arch == "gpt2") {
    w.add_u32(a + ".block_count", u32(c, "n_layer"));
    w.add_u32(a + ".context_length", u32(c, "n_positions"));
    w.add_u32(a + ".embedding_length", u32(c, "n_embd"));
    w.add_u32(a + ".feed_forward_length", u32(c, "n_inner"));
    w.add_u32(a + ".attention.head_count", u32(c, "n_head"));
    w.add_f32(a + ".attention.layer_norm_epsilon", c.at("layer_norm_epsilon").get<float>());
  } else if (arch == "mamba2" || arch == "nemotron_h") {
    const uint32_t layers = u32(c, "num_hidden_layers");
    w.add_u32(a + ".block_count", layers);
    w.add_u32(a + ".context_length", 4096);
    w.add_u32(a + ".embedding_length", c.contains("hidden_size") ? u32(c, "hidden_size") : u32(c, "d_model"));
    write_ssm(w, a, c);
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
    if (arch == "mamba2") {
      w.add_u32(a + ".feed_forward_length", 0);
      w.add_u32(a + ".attention.head_count", 0);
    } else {
      const std::string pattern = c.at("layer_pattern").get<std::string>();
      // llama.cpp tells layer kinds apart by per-layer KV heads and FFN widths (0 = Mamba).
      std::vector<uint32_t> kv, ffn;
      for (char k : pattern) {
        kv.push_back(k == '*' ? u32(c, "num_key_value_heads") : 0);
        ffn.push_back(k == '-' ? u32(c, "intermediate_size") : 0);
      }
      w.add_u32(a + ".attention.head_count", u32(c, "num_attention_heads"));
      w.add_u32s(a + ".attention.head_count_kv", kv);
      w.add_u32s(a + ".feed_forward_length", ffn);
      w.add_u32(a + ".attention.key_length", u32(c, "head_dim"));
      w.add_u32(a + ".attention.value_length", u32(c, "head_dim"));
      w.add_f32(a + ".attention.layer_norm_epsilon", 1e-5f);  // llama.cpp's nemotron_h reads this key too
    }
  } else {  // llama family
    w.add_u32(a + ".block_count", u32(c, "num_hidden_layers"));
    w.add_u32(a + ".context_length", u32(c, "max_position_embeddings"));
    w.add_u32(a + ".embedding_length", u32(c, "hidden_size"));
    w.add_u32(a + ".feed_forward_length", u32(c, "intermediate_size"));
    w.add_u32(a + ".attention.head_count", u32(c, "num_attention_heads"));
    w.add_u32(a + ".attention.head_count_kv", u32(c, "num_key_value_heads"));
    w.add_u32(a + ".attention.key_length", u32(c, "head_dim"));
    w.add_u32(a + ".attention.value_length", u32(c, "head_dim"));
    w.add_u32(a + ".rope.dimension_count", u32(c, "head_dim"));
    w.add_f32(a + ".rope.freq_base", c.at("rope_theta").get<float>());
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", c.at("rms_norm_eps").get<float>());
  }
  w.add_u32(a + ".vocab_size", static_cast<uint32_t>(vocab));
}

void write_placeholder_vocab(GgufWriter& w, int64_t vocab) {
  // A placeholder SentencePiece vocabulary so that llama.cpp's tokenizer initialises: <unk>,
  // <s>, </s>, the 256 byte tokens, then "<i>" fillers. Needs vocab ≥ 259.
  if (vocab < 259)
    fail(ErrorKind::unsupported,
         "GGUF export writes a placeholder SentencePiece vocabulary (<unk>, <s>, </s> and the 256 byte tokens) because "
         "llama.cpp loads no GGUF without a tokenizer, so it needs vocab_size ≥ 259; this model has " +
             std::to_string(vocab));
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
  char byte[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(byte, sizeof byte, "<0x%02X>", b);
    tokens.push_back(byte);
    types.push_back(6);  // byte
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < vocab; ++i) {
    std::string t = "<";
    t += std::to_string(i);
    tokens.push_back(t += ">");
    types.push_back(1);  // normal
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_strings("tokenizer.ggml.tokens", tokens);
  w.add_f32s("tokenizer.ggml.scores", std::vector<float>(static_cast<size_t>(vocab), 0.0f));
  w.add_i32s("tokenizer.ggml.token_type", types);
  w.add_u32("tokenizer.ggml.unknown_token_id", 0);
  w.add_u32("tokenizer.ggml.bos_token_id", 1);
  w.add_u32("tokenizer.ggml.eos_token_id", 2);
}

}  // namespace anatomy::io
