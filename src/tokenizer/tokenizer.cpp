// Reference: Hugging Face tokenizers' TokenizerImpl::encode_single_sequence and decode.
#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

std::string Tokenizer::prepare(std::string_view raw, size_t* replaced) const { return repair_utf8(raw, replaced); }

PipelineTokenizer::PipelineTokenizer(Pipeline pipeline) : p_(std::move(pipeline)) {
  size_ = p_.model->vocab().size();
  std::vector<const AddedToken*> raw, normalized;
  for (const auto& t : p_.added) {
    size_ = std::max(size_, t.id + 1);
    (t.normalized && p_.normalizer ? normalized : raw).push_back(&t);
  }
  raw_matcher_ = AddedTokenMatcher(raw);
  normalized_matcher_ = AddedTokenMatcher(normalized);
  added_index_.assign(static_cast<size_t>(size_), -1);
  for (size_t i = 0; i < p_.added.size(); ++i) added_index_[p_.added[i].id] = static_cast<int32_t>(i);
}

const AddedToken* PipelineTokenizer::added_for(int32_t id) const {
  const int32_t i = id >= 0 && id < size_ ? added_index_[id] : -1;
  return i >= 0 ? &p_.added[i] : nullptr;
}

Encoding PipelineTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  Encoding out;
  const uint64_t dropped_before = p_.model->dropped_bytes();
  if (options.add_special) {
    out.ids = p_.prefix;
    if (options.offsets) out.offsets.assign(p_.prefix.size(), {0, 0});
  }
  size_t at = 0;
  for (const AddedMatch& m : raw_matcher_.find_all(text)) {
    encode_segment(text.substr(at, m.begin - at), at, options, out);
    out.ids.push_back(m.id);
    if (options.offsets) out.offsets.push_back({static_cast<uint32_t>(m.begin), static_cast<uint32_t>(m.end)});
    at = m.end;
  }
  encode_segment(text.substr(at), at, options, out);
  if (options.add_special) {
    out.ids.insert(out.ids.end(), p_.suffix.begin(), p_.suffix.end());
    if (options.offsets) out.offsets.insert(out.offsets.end(), p_.suffix.size(), {0, 0});
  }
  out.dropped_bytes = p_.model->dropped_bytes() - dropped_before;
  return out;
}

// One stretch of raw text between added tokens: normalized, then split on normalized added tokens.
void PipelineTokenizer::encode_segment(std::string_view text, size_t at, const EncodeOptions& options, Encoding& out) const {
  if (text.empty()) return;
  WorkText work;
  work.bytes = text;
  work.tracked = options.offsets;
  std::vector<uint32_t> origin;
  if (options.offsets) {
    origin.resize(text.size() + 1);
    for (size_t i = 0; i <= text.size(); ++i) origin[i] = static_cast<uint32_t>(at + i);
  }
  if (p_.normalizer) p_.normalizer->apply(work.bytes, options.offsets ? &origin : nullptr);
  if (options.offsets) {
    origin.pop_back();
    work.origin = std::move(origin);
  }
  const bool first = at == 0;
  uint32_t from = 0;
  for (const AddedMatch& m : normalized_matcher_.find_all(work.bytes)) {
    encode_normalized(work, {from, static_cast<uint32_t>(m.begin)}, first && from == 0, options, out);
    out.ids.push_back(m.id);
    if (options.offsets)
      out.offsets.push_back({work.origin_of(static_cast<uint32_t>(m.begin)), work.origin_of(static_cast<uint32_t>(m.end - 1)) + 1});
    from = static_cast<uint32_t>(m.end);
  }
  encode_normalized(work, {from, static_cast<uint32_t>(work.bytes.size())}, first && from == 0, options, out);
}

void PipelineTokenizer::encode_normalized(WorkText& work, Range segment, bool first, const EncodeOptions& options, Encoding& out) const {
  if (segment.size() == 0) return;
  std::vector<Range> pieces{segment};
  std::vector<bool> firsts{first};
  if (p_.pre_tokenizer) p_.pre_tokenizer->apply(work, pieces, firsts);
  std::vector<uint32_t> ends;
  for (const Range piece : pieces) {
    ends.clear();
    p_.model->encode(work.view(piece), out.ids, options.offsets ? &ends : nullptr);
    if (!options.offsets) continue;
    uint32_t begin = piece.begin;
    for (const uint32_t end : ends) {
      const uint32_t stop = piece.begin + end;
      out.offsets.push_back({work.origin_of(begin), stop > begin ? work.origin_of(stop - 1) + 1 : work.origin_of(begin)});
      begin = stop;
    }
  }
}

std::string PipelineTokenizer::token(int32_t id) const {
  if (const AddedToken* t = added_for(id)) return t->content;
  if (id < 0 || id >= p_.model->vocab().size())
    fail(ErrorKind::format, fmt::format("token id {} is outside the vocabulary of {} ids ({})", id, size_, source_));
  return p_.model->vocab().display[id];
}

std::string PipelineTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    const AddedToken* t = added_for(id);
    if (skip_special && t && t->special) continue;
    tokens.push_back(token(id));
  }
  if (!p_.decoder) return fmt::format("{}", fmt::join(tokens, " "));
  p_.decoder->apply(tokens);
  std::string text;
  for (const auto& t : tokens) text += t;
  return text;
}

io::json PipelineTokenizer::describe() const {
  io::json added = io::json::array();
  int64_t special = 0;
  for (const auto& t : p_.added) special += t.special;
  io::json d = {{"format", p_.format},
                {"source", source_},
                {"model", p_.model->kind()},
                {"vocab_size", size_},
                {"model_vocab_size", p_.model->vocab().size()},
                {"added_tokens", p_.added.size()},
                {"special_tokens", special},
                {"normalizer", p_.normalizer.has_value()},
                {"pre_tokenizer", p_.pre_tokenizer_name.empty() ? io::json(nullptr) : io::json(p_.pre_tokenizer_name)}};
  d["alphabet"] = p_.model->alphabet();
  d["bos"] = p_.bos_id >= 0 ? io::json(token(p_.bos_id)) : io::json(nullptr);
  d["eos"] = p_.eos_id >= 0 ? io::json(token(p_.eos_id)) : io::json(nullptr);
  io::json prefix = io::json::array(), suffix = io::json::array();
  for (const int32_t id : p_.prefix) prefix.push_back(token(id));
  for (const int32_t id : p_.suffix) suffix.push_back(token(id));
  d["adds_before"] = prefix;
  d["adds_after"] = suffix;
  return d;
}

PortableVocab PipelineTokenizer::portable() const {
  PortableVocab v;
  p_.model->portable(v);
  v.pre = p_.pre_tokenizer_name;
  // Added tokens beyond the model's ids (Llama 3's, Qwen's) join the token list.
  v.tokens.resize(static_cast<size_t>(size_));
  v.types.resize(static_cast<size_t>(size_), static_cast<int32_t>(TokenType::unused));
  if (!v.scores.empty()) v.scores.resize(static_cast<size_t>(size_), 0.0f);
  for (const auto& t : p_.added) {
    v.tokens[t.id] = t.content;
    v.types[t.id] = static_cast<int32_t>(t.special ? TokenType::control : TokenType::user_defined);
  }
  for (int32_t id = 0; id < size_; ++id)
    if (v.tokens[id].empty()) v.tokens[id] = fmt::format("[PAD{}]", id);
  v.bos = p_.bos_id;
  v.eos = p_.eos_id;
  v.add_bos = !p_.prefix.empty();
  v.add_eos = !p_.suffix.empty();
  v.add_space_prefix = p_.normalizer.has_value();
  return v;
}

}  // namespace anatomy::tokenizer
