// tokenizer.json, Hugging Face's serialization of a whole tokenizer (tokenizers/src/tokenizer/
// serialization.rs): model, normalizer, pre_tokenizer, post_processor, decoder, added_tokens.
// Supported: what the supported families ship — BPE over bytes or characters with byte fallback.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/load.h"
#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

namespace {

constexpr int32_t kMaxIds = 1 << 24;  // far above any real vocabulary; bounds what a file can make us allocate

struct Reader {
  const std::string& file;
  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    fail_at(ErrorKind::format, file, field, message);
  }
  [[noreturn]] void unsupported(const std::string& field, const std::string& message) const {
    fail_at(ErrorKind::unsupported, file, field, message);
  }
  const io::json& need(const io::json& j, const std::string& key, const std::string& field) const {
    if (!j.is_object() || !j.contains(key)) fail(field, "missing '" + key + "'");
    return j[key];
  }
  std::string string_at(const io::json& j, const std::string& key, const std::string& field) const {
    const auto& v = need(j, key, field);
    if (!v.is_string()) fail(field + "." + key, "must be a string");
    return v.get<std::string>();
  }
  bool flag(const io::json& j, const std::string& key, bool otherwise, const std::string& field) const {
    if (!j.contains(key) || j[key].is_null()) return otherwise;
    if (!j[key].is_boolean()) fail(field + "." + key, "must be true or false");
    return j[key].get<bool>();
  }
  std::string type_of(const io::json& j, const std::string& field) const {
    if (!j.is_object()) fail(field, "must be an object");
    return string_at(j, "type", field);
  }
};

// A literal string as a PCRE2 pattern.
std::string quote(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) out += c;
    else out += std::string("\\") + c;
  }
  return out;
}

// {"String": "..."} or {"Regex": "..."} -> a compiled regex.
std::shared_ptr<Regex> pattern_of(const Reader& r, const io::json& j, const std::string& field) {
  if (j.contains("Regex") && j["Regex"].is_string()) return std::make_shared<Regex>(j["Regex"].get<std::string>(), r.file + ": " + field + ".Regex");
  if (j.contains("String") && j["String"].is_string()) return std::make_shared<Regex>(quote(j["String"].get<std::string>()), r.file + ": " + field + ".String");
  r.fail(field, "must be {\"String\": ...} or {\"Regex\": ...}");
}

Normalizer read_normalizer(const Reader& r, const io::json& j, const std::string& field) {
  const std::string type = r.type_of(j, field);
  Normalizer n;
  if (type == "Sequence") {
    const auto& list = r.need(j, "normalizers", field);
    if (!list.is_array()) r.fail(field + ".normalizers", "must be an array");
    for (size_t i = 0; i < list.size(); ++i) n.steps.push_back(read_normalizer(r, list[i], fmt::format("{}.normalizers[{}]", field, i)));
    return n;
  }
  const std::map<std::string, NormalForm> forms = {{"NFC", NormalForm::nfc}, {"NFD", NormalForm::nfd}, {"NFKC", NormalForm::nfkc}, {"NFKD", NormalForm::nfkd}};
  if (const auto it = forms.find(type); it != forms.end()) {
    n.kind = Normalizer::Kind::unicode;
    n.form = it->second;
    return n;
  }
  if (type == "Prepend") {
    n.kind = Normalizer::Kind::prepend;
    n.text = r.string_at(j, "prepend", field);
    return n;
  }
  if (type == "Replace") {
    n.kind = Normalizer::Kind::replace;
    const auto& p = r.need(j, "pattern", field);
    if (p.contains("String") && p["String"].is_string()) n.text = p["String"].get<std::string>();
    else n.regex = pattern_of(r, p, field + ".pattern");
    n.content = r.string_at(j, "content", field);
    return n;
  }
  r.unsupported(field + ".type", "normalizer '" + type + "' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Prepend, Replace)");
}

SplitBehavior behavior_of(const Reader& r, const std::string& name, const std::string& field) {
  static const std::map<std::string, SplitBehavior> names = {{"Removed", SplitBehavior::removed},
                                                             {"Isolated", SplitBehavior::isolated},
                                                             {"MergedWithPrevious", SplitBehavior::merged_with_previous},
                                                             {"MergedWithNext", SplitBehavior::merged_with_next},
                                                             {"Contiguous", SplitBehavior::contiguous}};
  const auto it = names.find(name);
  if (it == names.end()) r.fail(field, "unknown split behavior '" + name + "'");
  return it->second;
}

PreTokenizer read_pre_tokenizer(const Reader& r, const io::json& j, const std::string& field, bool& byte_level) {
  const std::string type = r.type_of(j, field);
  PreTokenizer p;
  if (type == "Sequence") {
    const auto& list = r.need(j, "pretokenizers", field);
    if (!list.is_array()) r.fail(field + ".pretokenizers", "must be an array");
    for (size_t i = 0; i < list.size(); ++i)
      p.steps.push_back(read_pre_tokenizer(r, list[i], fmt::format("{}.pretokenizers[{}]", field, i), byte_level));
    return p;
  }
  if (type == "Split") {
    p.kind = PreTokenizer::Kind::split;
    p.regex = pattern_of(r, r.need(j, "pattern", field), field + ".pattern");
    p.behavior = behavior_of(r, r.string_at(j, "behavior", field), field + ".behavior");
    p.invert = r.flag(j, "invert", false, field);
    return p;
  }
  if (type == "ByteLevel") {
    p.kind = PreTokenizer::Kind::byte_level;
    p.add_prefix_space = r.flag(j, "add_prefix_space", true, field);
    if (r.flag(j, "use_regex", true, field)) p.regex = std::make_shared<Regex>(known_pattern("gpt-2"), r.file + ": " + field);
    byte_level = true;
    return p;
  }
  if (type == "Metaspace") {
    p.kind = PreTokenizer::Kind::metaspace;
    p.replacement = r.string_at(j, "replacement", field);
    const std::string scheme = j.contains("prepend_scheme") && j["prepend_scheme"].is_string() ? j["prepend_scheme"].get<std::string>()
                               : r.flag(j, "add_prefix_space", true, field) ? "always" : "never";
    if (scheme == "always") p.prepend_scheme = PrependScheme::always;
    else if (scheme == "first") p.prepend_scheme = PrependScheme::first;
    else if (scheme == "never") p.prepend_scheme = PrependScheme::never;
    else r.fail(field + ".prepend_scheme", "must be always, first or never, not '" + scheme + "'");
    p.split = r.flag(j, "split", true, field);
    return p;
  }
  if (type == "Digits") {
    p.kind = PreTokenizer::Kind::digits;
    p.individual_digits = r.flag(j, "individual_digits", false, field);
    return p;
  }
  r.unsupported(field + ".type", "pre-tokenizer '" + type + "' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, Digits)");
}

Decoder read_decoder(const Reader& r, const io::json& j, const std::string& field) {
  const std::string type = r.type_of(j, field);
  Decoder d;
  if (type == "Sequence") {
    const auto& list = r.need(j, "decoders", field);
    if (!list.is_array()) r.fail(field + ".decoders", "must be an array");
    for (size_t i = 0; i < list.size(); ++i) d.steps.push_back(read_decoder(r, list[i], fmt::format("{}.decoders[{}]", field, i)));
  } else if (type == "ByteLevel") {
    d.kind = Decoder::Kind::byte_level;
  } else if (type == "Metaspace") {
    d.kind = Decoder::Kind::metaspace;
    d.replacement = r.string_at(j, "replacement", field);
    d.prepend = !(j.contains("prepend_scheme") && j["prepend_scheme"] == "never") && r.flag(j, "add_prefix_space", true, field);
  } else if (type == "Replace") {
    d.kind = Decoder::Kind::replace;
    const auto& p = r.need(j, "pattern", field);
    if (!p.contains("String") || !p["String"].is_string())
      r.unsupported(field + ".pattern", "a Replace decoder with a regex pattern is not supported");
    d.pattern = p["String"].get<std::string>();
    d.content = r.string_at(j, "content", field);
  } else if (type == "ByteFallback") {
    d.kind = Decoder::Kind::byte_fallback;
  } else if (type == "Fuse") {
    d.kind = Decoder::Kind::fuse;
  } else if (type == "Strip") {
    d.kind = Decoder::Kind::strip;
    d.content = r.string_at(j, "content", field);
    for (const char* key : {"start", "stop"}) {
      const auto& v = r.need(j, key, field);
      if (!v.is_number_unsigned() || v.get<uint64_t>() > 1024) r.fail(field + "." + key, "must be a count from 0 to 1024");
    }
    d.start = j["start"].get<size_t>();
    d.stop = j["stop"].get<size_t>();
  } else {
    r.unsupported(field + ".type", "decoder '" + type + "' is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)");
  }
  return d;
}

int32_t id_of(const Reader& r, const io::json& j, const std::string& field) {
  if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() >= kMaxIds)
    r.fail(field, fmt::format("must be an id from 0 to {}", kMaxIds - 1));
  return j.get<int32_t>();
}

std::vector<AddedToken> read_added(const Reader& r, const io::json& root) {
  std::vector<AddedToken> out;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return out;
  const auto& list = root["added_tokens"];
  if (!list.is_array()) r.fail("added_tokens", "must be an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = fmt::format("added_tokens[{}]", i);
    AddedToken t;
    t.id = id_of(r, r.need(list[i], "id", field), field + ".id");
    t.content = r.string_at(list[i], "content", field);
    t.special = r.flag(list[i], "special", false, field);
    t.normalized = r.flag(list[i], "normalized", !t.special, field);
    t.lstrip = r.flag(list[i], "lstrip", false, field);
    t.rstrip = r.flag(list[i], "rstrip", false, field);
    t.single_word = r.flag(list[i], "single_word", false, field);
    out.push_back(std::move(t));
  }
  return out;
}

// The ids a post-processor puts before and after a single sequence.
void read_post_processor(const Reader& r, const io::json& j, const std::string& field, Pipeline& p) {
  const std::string type = r.type_of(j, field);
  if (type == "ByteLevel") return;  // offsets only
  if (type == "Sequence") {
    const auto& list = r.need(j, "processors", field);
    if (!list.is_array()) r.fail(field + ".processors", "must be an array");
    for (size_t i = 0; i < list.size(); ++i) read_post_processor(r, list[i], fmt::format("{}.processors[{}]", field, i), p);
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    for (const char* key : {"cls", "sep"}) {
      const auto& v = r.need(j, key, field);
      if (!v.is_array() || v.size() != 2) r.fail(field + "." + key, "must be [token, id]");
      (std::string(key) == "cls" ? p.prefix : p.suffix).push_back(id_of(r, v[1], field + "." + key + "[1]"));
    }
    return;
  }
  if (type != "TemplateProcessing")
    r.unsupported(field + ".type", "post-processor '" + type + "' is not supported (supported: TemplateProcessing, ByteLevel, Bert/RobertaProcessing, Sequence)");
  const auto& single = r.need(j, "single", field);
  const auto& specials = r.need(j, "special_tokens", field);
  if (!single.is_array()) r.fail(field + ".single", "must be an array");
  bool after = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const std::string item = fmt::format("{}.single[{}]", field, i);
    if (single[i].contains("Sequence")) {
      after = true;
      continue;
    }
    const std::string name = r.string_at(r.need(single[i], "SpecialToken", item), "id", item + ".SpecialToken");
    if (!specials.is_object() || !specials.contains(name)) r.fail(field + ".special_tokens", "has no entry '" + name + "' named by " + item);
    const auto& ids = r.need(specials[name], "ids", field + ".special_tokens." + name);
    if (!ids.is_array()) r.fail(field + ".special_tokens." + name + ".ids", "must be an array");
    for (size_t k = 0; k < ids.size(); ++k) (after ? p.suffix : p.prefix).push_back(id_of(r, ids[k], fmt::format("{}.special_tokens.{}.ids[{}]", field, name, k)));
  }
}

// model.vocab as dense ids; for a byte-level tokenizer the pieces are the tokens' raw bytes.
Vocab read_vocab(const Reader& r, const io::json& vocab_json, bool byte_level) {
  if (!vocab_json.is_object()) r.fail("model.vocab", "must be an object of token -> id");
  const size_t n = vocab_json.size();
  if (n > static_cast<size_t>(kMaxIds)) r.fail("model.vocab", "has more than 2^24 tokens");
  std::vector<const std::string*> by_id(n, nullptr);
  for (const auto& [token, id_json] : vocab_json.items()) {
    const int32_t id = id_of(r, id_json, "model.vocab." + token);
    if (static_cast<size_t>(id) >= n)
      r.fail("model.vocab." + token, fmt::format("id {} is beyond the vocabulary's {} entries (ids must be 0..{})", id, n, n - 1));
    if (by_id[id]) r.fail("model.vocab." + token, fmt::format("id {} is also the id of '{}'", id, *by_id[id]));
    by_id[id] = &token;
  }
  Vocab v;
  v.pieces.reserve(n);
  std::string bytes;
  for (size_t id = 0; id < n; ++id) {
    const std::string& token = *by_id[id];
    const bool mapped = byte_level && byte_level_decode(token, bytes);
    v.add(mapped ? bytes : token, token, TokenType::normal);
  }
  return v;
}

std::vector<Merge> read_merges(const Reader& r, const io::json& merges, const Vocab& vocab, bool byte_level) {
  std::vector<Merge> out;
  if (merges.is_null()) return out;
  if (!merges.is_array()) r.fail("model.merges", "must be an array");
  out.reserve(merges.size());
  std::string a, b, ab;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string field = fmt::format("model.merges[{}]", i);
    const auto& m = merges[i];
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) r.fail(field, "must be two tokens separated by one space: '" + s + "'");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      r.fail(field, "must be \"a b\" or [\"a\", \"b\"]");
    }
    std::string ra, rb;
    if (byte_level && (!byte_level_decode(a, ra) || !byte_level_decode(b, rb))) r.fail(field, "names a token outside the byte-level alphabet");
    if (!byte_level) {
      ra = a;
      rb = b;
    }
    const int32_t left = vocab.find(ra), right = vocab.find(rb), result = vocab.find(ra + rb);
    if (left < 0 || right < 0 || result < 0)
      r.fail(field, fmt::format("names a token that is not in model.vocab: '{}'", left < 0 ? a : right < 0 ? b : a + b));
    out.push_back({left, right, result});
  }
  return out;
}

std::unique_ptr<Model> read_model(const Reader& r, const io::json& m, bool byte_level, const std::vector<AddedToken>& added) {
  const std::string type = m.contains("type") ? r.string_at(m, "type", "model") : "BPE";
  if (type != "BPE")
    r.unsupported("model.type", "'" + type + "' models are not supported: the supported families use BPE (WordPiece, Unigram and WordLevel are refused)");
  if (m.contains("dropout") && !m["dropout"].is_null()) r.unsupported("model.dropout", "BPE dropout is for training; anatomy encodes deterministically");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(key) && !m[key].is_null() && m[key] != "") r.unsupported(std::string("model.") + key, "is not supported (no supported family sets it)");
  Vocab vocab = read_vocab(r, r.need(m, "vocab", "model"), byte_level);
  // Added tokens are part of the vocabulary in the files of every supported family; mark them.
  for (const auto& t : added)
    if (t.id < vocab.size()) vocab.types[t.id] = t.special ? TokenType::control : TokenType::user_defined;
  BpeOptions o;
  o.byte_level = byte_level;
  o.byte_fallback = r.flag(m, "byte_fallback", false, "model");
  o.fuse_unk = r.flag(m, "fuse_unk", false, "model");
  o.ignore_merges = r.flag(m, "ignore_merges", false, "model");
  if (m.contains("unk_token") && !m["unk_token"].is_null()) {
    const std::string unk = r.string_at(m, "unk_token", "model");
    o.unk_id = vocab.find(unk);
    if (o.unk_id < 0) r.fail("model.unk_token", "'" + unk + "' is not in model.vocab");
    vocab.types[o.unk_id] = TokenType::unknown;
  }
  if (o.byte_fallback)
    for (int32_t id : vocab.byte_tokens())
      if (id >= 0) vocab.types[id] = TokenType::byte;
  const auto merges = read_merges(r, m.contains("merges") ? m["merges"] : io::json(), vocab, byte_level);
  return std::make_unique<BpeModel>(std::move(vocab), merges, o);
}

}  // namespace

std::unique_ptr<PipelineTokenizer> parse_tokenizer_json(std::string_view text, const std::string& file) {
  io::JsonOptions options;
  options.max_bytes = 256u << 20;
  return tokenizer_from_json(io::parse_json(text, file, options), file, "tokenizer.json");
}

std::unique_ptr<PipelineTokenizer> tokenizer_from_json(const io::json& root, const std::string& file, const std::string& format) {
  const Reader r{file};
  if (!root.is_object()) r.fail("", "must be a JSON object");
  Pipeline p;
  p.format = format;
  bool byte_level = false;
  if (root.contains("normalizer") && !root["normalizer"].is_null()) p.normalizer = read_normalizer(r, root["normalizer"], "normalizer");
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null()) {
    p.pre_tokenizer = read_pre_tokenizer(r, root["pre_tokenizer"], "pre_tokenizer", byte_level);
    // Name the pattern when it is one llama.cpp knows (GGUF's tokenizer.ggml.pre).
    std::function<void(const PreTokenizer&)> name = [&](const PreTokenizer& t) {
      if (t.kind == PreTokenizer::Kind::sequence) for (const auto& s : t.steps) name(s);
      else if (t.regex && p.pre_tokenizer_name.empty()) p.pre_tokenizer_name = known_pattern_name(t.regex->pattern());
    };
    name(*p.pre_tokenizer);
  }
  p.added = read_added(r, root);
  p.model = read_model(r, r.need(root, "model", ""), byte_level, p.added);
  if (root.contains("post_processor") && !root["post_processor"].is_null()) read_post_processor(r, root["post_processor"], "post_processor", p);
  if (root.contains("decoder") && !root["decoder"].is_null()) p.decoder = read_decoder(r, root["decoder"], "decoder");
  const int32_t limit = std::max<int32_t>(p.model->vocab().size(), [&] {
    int32_t m = 0;
    for (const auto& t : p.added) m = std::max(m, t.id + 1);
    return m;
  }());
  for (const int32_t id : p.prefix) if (id >= limit) r.fail("post_processor", fmt::format("adds id {}, beyond the vocabulary", id));
  for (const int32_t id : p.suffix) if (id >= limit) r.fail("post_processor", fmt::format("adds id {}, beyond the vocabulary", id));
  auto t = std::make_unique<PipelineTokenizer>(std::move(p));
  t->set_source(file);
  return t;
}

std::unique_ptr<PipelineTokenizer> load_tokenizer_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::io, path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_tokenizer_json(text.str(), path);
}

}  // namespace anatomy::tokenizer
