#include "tokenizer/load.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/pickle.h"
#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxTextBytes = 1ull << 30;

std::string read_file(const std::string& path, uint64_t limit = kMaxTextBytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail(ErrorKind::io, path + ": cannot read (" + ec.message() + ")");
  if (size > limit) fail(ErrorKind::resource, fmt::format("{}: {} bytes, more than the {} a tokenizer file may have", path, size, limit));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::io, path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<Tokenizer> char_pipeline(Vocab v, const std::string& format, const std::string& path) {
  Pipeline p;
  p.format = format;
  p.model = std::make_unique<CharModel>(std::move(v), path);
  p.decoder = Decoder{Decoder::Kind::fuse};
  auto t = std::make_unique<PipelineTokenizer>(std::move(p));
  t->set_source(path);
  return t;
}

std::unique_ptr<Tokenizer> chars_from_text(const std::string& path) {
  return char_tokenizer(text_characters(repair_utf8(read_file(path))), "text", path);
}

// vocab.json without merges.txt: a JSON list of characters in id order (anatomy train writes
// nanoGPT's vocabulary so).
std::unique_ptr<Tokenizer> chars_from_list(const std::string& path) {
  const io::json root = io::parse_json(read_file(path), path);
  if (!root.is_array())
    fail_at(ErrorKind::format, path, "", "is neither a list of characters nor GPT-2's vocabulary (its merges.txt is missing)");
  std::vector<std::string> chars;
  for (size_t i = 0; i < root.size(); ++i) {
    if (!root[i].is_string() || root[i].get<std::string>().empty())
      fail_at(ErrorKind::format, path, fmt::format("[{}]", i), "must be a non-empty string");
    chars.push_back(root[i].get<std::string>());
  }
  return char_tokenizer(chars, "vocab.json (characters)", path);
}

}  // namespace

std::vector<std::string> text_characters(std::string_view text) {
  std::set<std::pair<char32_t, std::string>> chars;
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::max<size_t>(1, utf8_length(text, i));
    char32_t c = static_cast<uint8_t>(text[i]);
    if (len > 1) {
      c &= 0xFF >> (len + 1);
      for (size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
    }
    chars.insert({c, std::string(text.substr(i, len))});
    i += len;
  }
  std::vector<std::string> out;
  for (const auto& [c, s] : chars) out.push_back(s);
  return out;
}

std::unique_ptr<Tokenizer> char_tokenizer(const std::vector<std::string>& chars, const std::string& format,
                                          const std::string& path) {
  Vocab v;
  for (const std::string& s : chars) {
    if (v.find(s) >= 0) fail_at(ErrorKind::format, path, "", "repeats the character '" + s + "'");
    v.add(s, s, TokenType::normal);
  }
  return char_pipeline(std::move(v), format, path);
}


namespace {

// nanoGPT's meta.pkl: {'vocab_size': n, 'itos': {i: ch}, 'stoi': {ch: i}}, read by the unpickler
// that executes nothing.
std::unique_ptr<Tokenizer> chars_from_pickle(const std::string& path) {
  const std::string data = read_file(path, 64u << 20);
  const io::Pickle pk = io::read_pickle(data, path);
  const auto& root = pk.at(pk.root);
  if (root.kind != io::PickleValue::Kind::dict) fail_at(ErrorKind::format, path, "", "must hold a dict (nanoGPT's meta.pkl)");
  const io::PickleValue* itos = nullptr;
  for (size_t k = 0; k + 1 < root.items.size(); k += 2)
    if (pk.at(root.items[k]).kind == io::PickleValue::Kind::string && pk.at(root.items[k]).text == "itos") itos = &pk.at(root.items[k + 1]);
  if (!itos || itos->kind != io::PickleValue::Kind::dict) fail_at(ErrorKind::format, path, "itos", "missing or not a dict of id -> character");
  const size_t n = itos->items.size() / 2;
  std::vector<std::string> by_id(n);
  std::vector<bool> set(n, false);
  for (size_t k = 0; k + 1 < itos->items.size(); k += 2) {
    const auto& key = pk.at(itos->items[k]);
    const auto& value = pk.at(itos->items[k + 1]);
    if (key.kind != io::PickleValue::Kind::integer || key.integer < 0 || static_cast<size_t>(key.integer) >= n)
      fail_at(ErrorKind::format, path, "itos", fmt::format("keys must be the ids 0..{}", n - 1));
    if (value.kind != io::PickleValue::Kind::string || value.text.empty())
      fail_at(ErrorKind::format, path, fmt::format("itos[{}]", key.integer), "must be a non-empty string");
    if (set[key.integer]) fail_at(ErrorKind::format, path, fmt::format("itos[{}]", key.integer), "appears twice");
    set[key.integer] = true;
    by_id[key.integer] = value.text;
  }
  Vocab v;
  for (size_t id = 0; id < n; ++id) {
    if (v.find(by_id[id]) >= 0) fail_at(ErrorKind::format, path, fmt::format("itos[{}]", id), "repeats the character '" + by_id[id] + "'");
    v.add(by_id[id], by_id[id], TokenType::normal);
  }
  return char_pipeline(std::move(v), "meta.pkl", path);
}

// tokenizer_config.json's token fields are a string or {"content": ...}.
std::string token_name(const io::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

int32_t id_of_token(const PipelineTokenizer& t, const std::string& name) {
  if (name.empty()) return -1;
  for (const auto& a : t.pipeline().added)
    if (a.content == name) return a.id;
  return t.pipeline().model->vocab().find(name);
}

// BOS/EOS from tokenizer_config.json beside the tokenizer (as transformers reads them); without
// it, from the post-processor and the usual names.
void apply_config(PipelineTokenizer& t, const std::string& folder) {
  Pipeline& p = t.pipeline();
  if (!p.prefix.empty()) p.bos_id = p.prefix.front();
  if (!p.suffix.empty()) p.eos_id = p.suffix.back();
  const fs::path config = fs::path(folder) / "tokenizer_config.json";
  io::json c = io::json::object();
  if (fs::exists(config)) c = io::load_json_file(config.string());
  const auto field = [&](const char* key) { return c.contains(key) ? token_name(c[key]) : std::string(); };
  if (const int32_t id = id_of_token(t, field("bos_token")); id >= 0) p.bos_id = id;
  if (const int32_t id = id_of_token(t, field("eos_token")); id >= 0) p.eos_id = id;
  if (p.eos_id < 0)
    for (const char* name : {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"})
      if (const int32_t id = id_of_token(t, name); id >= 0 && p.eos_id < 0) p.eos_id = id;
  // transformers rebuilds the template from add_bos_token / add_eos_token when the config sets them.
  if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) {
    if (!c["add_bos_token"].get<bool>()) p.prefix.clear();
    else if (p.prefix.empty() && p.bos_id >= 0) p.prefix = {p.bos_id};
  }
  if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) {
    if (!c["add_eos_token"].get<bool>()) p.suffix.clear();
    else if (p.suffix.empty() && p.eos_id >= 0) p.suffix = {p.eos_id};
  }
}

std::unique_ptr<Tokenizer> with_config(std::unique_ptr<PipelineTokenizer> t, const std::string& folder) {
  apply_config(*t, folder);
  return t;
}

bool config_flag(const std::string& folder, const char* key, bool otherwise) {
  const fs::path config = fs::path(folder) / "tokenizer_config.json";
  if (!fs::exists(config)) return otherwise;
  const io::json c = io::load_json_file(config.string());
  return c.contains(key) && c[key].is_boolean() ? c[key].get<bool>() : otherwise;
}

}  // namespace

std::unique_ptr<Tokenizer> load_gpt2_files(const std::string& vocab_json, const std::string& merges_txt) {
  const std::string label = vocab_json + " + " + merges_txt;
  io::JsonOptions options;
  options.max_bytes = 256u << 20;
  const io::json vocab = io::parse_json(read_file(vocab_json), vocab_json, options);
  io::json merges = io::json::array();
  std::istringstream lines(read_file(merges_txt));
  std::string line;
  for (size_t n = 1; std::getline(lines, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (n == 1 && line.rfind("#version", 0) == 0)) continue;
    merges.push_back(line);
  }
  io::json root;
  root["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
  root["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  root["decoder"] = {{"type", "ByteLevel"}};
  io::json added = io::json::array();
  if (vocab.is_object() && vocab.contains("<|endoftext|>"))
    added.push_back({{"id", vocab["<|endoftext|>"]}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}});
  root["added_tokens"] = added;
  auto t = tokenizer_from_json(root, label, "vocab.json+merges.txt");
  t->set_source(label);
  return with_config(std::move(t), fs::path(vocab_json).parent_path().string());
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p)) fail(ErrorKind::io, path + ": no such file or folder");
  if (fs::is_directory(p)) {
    if (fs::exists(p / "tokenizer.json"))
      return with_config(load_tokenizer_json((p / "tokenizer.json").string()), path);
    if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt")) return load_gpt2_files((p / "vocab.json").string(), (p / "merges.txt").string());
    if (fs::exists(p / "vocab.json")) return chars_from_list((p / "vocab.json").string());
    if (fs::exists(p / "tokenizer.model"))
      return load_sentencepiece((p / "tokenizer.model").string(), config_flag(path, "add_bos_token", true), config_flag(path, "add_eos_token", false));
    if (fs::exists(p / "meta.pkl")) return chars_from_pickle((p / "meta.pkl").string());
    for (const auto& entry : fs::directory_iterator(p))
      if (entry.path().extension() == ".gguf") return load_gguf_vocab(io::read_gguf(entry.path().string()));
    fail(ErrorKind::io, path + ": no tokenizer here (looked for tokenizer.json, vocab.json + merges.txt, tokenizer.model, "
                               "meta.pkl and a .gguf file); name one with --tokenizer");
  }
  const std::string name = p.filename().string();
  const std::string folder = p.parent_path().string();
  if (p.extension() == ".json" && name != "vocab.json")
    return with_config(load_tokenizer_json(path), folder);
  if (name == "vocab.json" && !fs::exists(p.parent_path() / "merges.txt")) return chars_from_list(path);
  if (name == "vocab.json" || name == "merges.txt") return load_gpt2_files((p.parent_path() / "vocab.json").string(), (p.parent_path() / "merges.txt").string());
  if (p.extension() == ".model")
    return load_sentencepiece(path, config_flag(folder, "add_bos_token", true), config_flag(folder, "add_eos_token", false));
  if (p.extension() == ".gguf") return load_gguf_vocab(io::read_gguf(path));
  if (p.extension() == ".pkl") return chars_from_pickle(path);
  if (p.extension() == ".txt") return chars_from_text(path);
  fail(ErrorKind::unsupported, path + ": not a tokenizer file anatomy reads (tokenizer.json, vocab.json + merges.txt, "
                                      "tokenizer.model, .gguf, meta.pkl, or a .txt file for a character vocabulary)");
}

bool has_tokenizer(const std::string& path) {
  const fs::path p(path);
  if (!fs::is_directory(p)) return fs::exists(p);
  for (const char* f : {"tokenizer.json", "vocab.json", "tokenizer.model", "meta.pkl"})
    if (fs::exists(p / f)) return true;
  return false;
}

}  // namespace anatomy::tokenizer
