// The one place where GGUF's names (llama.cpp's convert_hf_to_gguf.py / constants.py) are
// mapped to Hugging Face names: tensor names and metadata keys.
#include <map>
#include <string_view>

#include "core/error.h"
#include "io/gguf.h"

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
      {"mamba2",
       {"backbone.layers.{}.",
        {{"token_embd", "backbone.embeddings"}, {"output_norm", "backbone.norm_f"}, {"output", "lm_head"}},
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

std::optional<GgufNameMapping> apply(const std::vector<NameRule>& rules, std::string_view stem,
                                     std::string_view suffix, const std::string& prefix) {
  for (const auto& r : rules) {
    if (r.gguf != stem) continue;
    GgufNameMapping m;
    // Only Conv1D weights are stored transposed; their biases are plain vectors.
    m.layout = r.layout == Layout::transposed && suffix != ".weight" ? Layout::same : r.layout;
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
        const auto layout = r.layout == Layout::transposed && suffix != ".weight" ? Layout::same : r.layout;
        return std::make_pair(gguf_prefix + std::string(r.gguf) + suffix, layout);
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
  if (arch == "qwen2") c["attention_bias"] = find_tensor(f, "blk.0.attn_q.bias") != nullptr;
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
