// Reference: llama.cpp src/llama-vocab.cpp (load, tokenize) and convert_hf_to_gguf.py (what it
// writes). GGUF token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
#include "tokenizer/gguf_vocab.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/load.h"
#include "tokenizer/regex.h"

namespace anatomy::tokenizer {

void write_gguf_vocab(io::GgufWriter& w, const Tokenizer& t, int64_t rows) {
  PortableVocab v = t.portable();
  const auto n = static_cast<int64_t>(v.tokens.size());
  if (n > rows)
    fail(ErrorKind::unsupported, fmt::format("{}: the tokenizer has {} ids but the model's embedding only {} rows", t.source(), n, rows));
  for (int64_t id = n; id < rows; ++id) {
    v.tokens.push_back(fmt::format("[PAD{}]", id));
    v.types.push_back(static_cast<int32_t>(TokenType::unused));
    if (!v.scores.empty()) v.scores.push_back(-1e9f);
  }
  if (v.model == "gpt2" && v.pre.empty())
    fail(ErrorKind::unsupported, t.source() + ": its pre-tokenizer regex is none that llama.cpp knows (gpt-2, llama-bpe, qwen2), "
                                              "so a GGUF file could not tokenize as it does");
  w.add_string("tokenizer.ggml.model", v.model);
  if (v.model == "gpt2") w.add_string("tokenizer.ggml.pre", v.pre);
  w.add_strings("tokenizer.ggml.tokens", v.tokens);
  w.add_i32s("tokenizer.ggml.token_type", v.types);
  if (!v.scores.empty()) w.add_f32s("tokenizer.ggml.scores", v.scores);
  if (!v.merges.empty()) w.add_strings("tokenizer.ggml.merges", v.merges);
  if (v.bos >= 0) w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos));
  if (v.eos >= 0) w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos));
  if (v.unk >= 0) w.add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(v.unk));
  w.add_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  w.add_bool("tokenizer.ggml.add_eos_token", v.add_eos);
  if (v.model == "llama") w.add_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
}

namespace {

struct Meta {
  const io::GgufFile& f;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    fail_at(ErrorKind::format, f.path, key, message);
  }
  const io::ordered_json* get(const std::string& key) const {
    const auto it = f.metadata.find(key);
    return it == f.metadata.end() ? nullptr : &*it;
  }
  std::vector<std::string> strings(const std::string& key, bool required) const {
    std::vector<std::string> out;
    const auto* v = get(key);
    if (!v) {
      if (required) fail(key, "missing");
      return out;
    }
    if (!v->is_array()) fail(key, "must be an array of strings");
    out.reserve(v->size());
    for (const auto& s : *v) {
      if (!s.is_string()) fail(key, "must be an array of strings");
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  template <class T>
  std::vector<T> numbers(const std::string& key, size_t n) const {
    std::vector<T> out;
    const auto* v = get(key);
    if (!v) return out;
    if (!v->is_array() || v->size() != n) fail(key, fmt::format("must be an array of {} numbers, one per token", n));
    for (const auto& x : *v) {
      if (!x.is_number()) fail(key, "must hold numbers");
      out.push_back(x.get<T>());
    }
    return out;
  }
  int32_t id(const std::string& key, size_t n) const {
    const auto* v = get(key);
    if (!v) return -1;
    if (!v->is_number_integer() || v->get<int64_t>() < 0 || static_cast<size_t>(v->get<int64_t>()) >= n)
      fail(key, fmt::format("must be a token id below {}", n));
    return v->get<int32_t>();
  }
  bool flag(const std::string& key, bool otherwise) const {
    const auto* v = get(key);
    if (!v) return otherwise;
    if (!v->is_boolean()) fail(key, "must be a bool");
    return v->get<bool>();
  }
};

// llama.cpp's names for the pre-tokenizers of the supported families.
std::string pattern_name(const Meta& m, const std::string& pre) {
  if (pre == "gpt-2" || pre == "default" || pre.empty()) return "gpt-2";
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") return "llama-bpe";
  if (pre == "qwen2") return "qwen2";
  fail_at(ErrorKind::unsupported, m.f.path, "tokenizer.ggml.pre", "pre-tokenizer '" + pre + "' is not supported (supported: gpt-2, llama-bpe, qwen2)");
}

// llama.cpp (llama-vocab.cpp, load: its end-of-generation list) makes a token control by its
// spelling alone, whatever type the file gives it; Qwen's vocabulary holds "</s>" as plain text,
// which llama.cpp then matches as a special token. anatomy reads GGUF files as llama.cpp does.
bool llama_cpp_forces_control(const std::string& text) {
  static const std::set<std::string> spellings = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
      "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>"};
  return spellings.count(text) > 0;
}

// Control, user-defined and unknown tokens are matched in the text before tokenizing, as
// llama.cpp's tokenizer_st_partition does with parse_special.
std::vector<AddedToken> specials(const std::vector<std::string>& tokens, const std::vector<int32_t>& types) {
  std::vector<AddedToken> out;
  for (size_t id = 0; id < types.size(); ++id) {
    auto type = static_cast<TokenType>(types[id]);
    if (type == TokenType::normal && llama_cpp_forces_control(tokens[id])) type = TokenType::control;
    if (type != TokenType::control && type != TokenType::user_defined && type != TokenType::unknown) continue;
    AddedToken t;
    t.id = static_cast<int32_t>(id);
    t.content = tokens[id];
    t.special = type != TokenType::user_defined;
    out.push_back(std::move(t));
  }
  return out;
}

std::unique_ptr<PipelineTokenizer> read_gpt2(const Meta& m, const std::vector<std::string>& tokens, const std::vector<int32_t>& types) {
  const std::string pre = m.get("tokenizer.ggml.pre") && m.get("tokenizer.ggml.pre")->is_string()
                              ? m.get("tokenizer.ggml.pre")->get<std::string>() : "";
  const std::string name = pattern_name(m, pre);
  io::json root;
  io::json vocab = io::json::object();
  for (size_t id = 0; id < tokens.size(); ++id)
    if (!vocab.contains(tokens[id])) vocab[tokens[id]] = id;
  if (vocab.size() != tokens.size()) m.fail("tokenizer.ggml.tokens", "holds the same token twice");
  root["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", m.strings("tokenizer.ggml.merges", true)},
                   {"ignore_merges", name == "llama-bpe"}};
  io::json split = {{"type", "Split"}, {"pattern", {{"Regex", known_pattern(name)}}}, {"behavior", "Isolated"}, {"invert", false}};
  root["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", {split, {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  root["decoder"] = {{"type", "ByteLevel"}};
  io::json added = io::json::array();
  for (const auto& t : specials(tokens, types))
    added.push_back({{"id", t.id}, {"content", t.content}, {"special", t.special}, {"normalized", false}});
  root["added_tokens"] = added;
  return tokenizer_from_json(root, m.f.path + ": tokenizer.ggml", "gguf");
}

std::unique_ptr<PipelineTokenizer> read_llama(const Meta& m, const std::vector<std::string>& tokens, const std::vector<int32_t>& types) {
  const auto scores = m.numbers<float>("tokenizer.ggml.scores", tokens.size());
  Vocab v;
  for (size_t id = 0; id < tokens.size(); ++id)
    v.add(tokens[id], tokens[id], static_cast<TokenType>(types[id]), scores.empty() ? 0.0f : scores[id]);
  Pipeline p;
  p.format = "gguf";
  p.added = specials(tokens, types);
  if (m.flag("tokenizer.ggml.add_space_prefix", true)) {
    Normalizer prepend{Normalizer::Kind::prepend};
    prepend.text = "\u2581";
    Normalizer replace{Normalizer::Kind::replace};
    replace.text = " ";
    replace.content = "\u2581";
    p.normalizer = Normalizer{Normalizer::Kind::sequence, {prepend, replace}};
  } else {
    Normalizer replace{Normalizer::Kind::replace};
    replace.text = " ";
    replace.content = "\u2581";
    p.normalizer = replace;
  }
  Decoder space{Decoder::Kind::replace};
  space.pattern = "\u2581";
  space.content = " ";
  Decoder strip{Decoder::Kind::strip};
  strip.content = " ";
  strip.start = m.flag("tokenizer.ggml.add_space_prefix", true) ? 1 : 0;
  p.decoder = Decoder{Decoder::Kind::sequence, {space, Decoder{Decoder::Kind::byte_fallback}, Decoder{Decoder::Kind::fuse}, strip}};
  p.model = std::make_unique<SpmModel>(std::move(v), m.id("tokenizer.ggml.unknown_token_id", tokens.size()));
  auto t = std::make_unique<PipelineTokenizer>(std::move(p));
  t->set_source(m.f.path);
  return t;
}

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_vocab(const io::GgufFile& f) {
  const Meta m{f};
  const auto* model = m.get("tokenizer.ggml.model");
  if (!model) m.fail("tokenizer.ggml.model", "missing: this GGUF file carries no tokenizer");
  if (!model->is_string()) m.fail("tokenizer.ggml.model", "must be a string");
  const std::string kind = model->get<std::string>();
  if (kind != "gpt2" && kind != "llama")
    fail_at(ErrorKind::unsupported, f.path, "tokenizer.ggml.model", "'" + kind + "' vocabularies are not supported (supported: gpt2, llama)");
  const auto tokens = m.strings("tokenizer.ggml.tokens", true);
  auto types = m.numbers<int32_t>("tokenizer.ggml.token_type", tokens.size());
  if (types.empty()) types.assign(tokens.size(), static_cast<int32_t>(TokenType::normal));
  for (const int32_t type : types)
    if (type < 1 || type > 6) m.fail("tokenizer.ggml.token_type", fmt::format("holds {}, not a token type (1..6)", type));
  auto t = kind == "gpt2" ? read_gpt2(m, tokens, types) : read_llama(m, tokens, types);
  auto& p = t->pipeline();
  p.bos_id = m.id("tokenizer.ggml.bos_token_id", tokens.size());
  p.eos_id = m.id("tokenizer.ggml.eos_token_id", tokens.size());
  // llama.cpp adds BOS by default for SentencePiece vocabularies; the file's flags decide.
  if (m.flag("tokenizer.ggml.add_bos_token", kind == "llama") && p.bos_id >= 0) p.prefix = {p.bos_id};
  if (m.flag("tokenizer.ggml.add_eos_token", false) && p.eos_id >= 0) p.suffix = {p.eos_id};
  t->set_source(f.path);
  return t;
}

}  // namespace anatomy::tokenizer
