#include "tokenizer/model.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

// (left, right) -> (rank, result) with open addressing: the lookup sits in the inner loop of
// every merge, where std::unordered_map's node chasing costs more than the merge itself.
struct BpeModel::MergeTable {
  struct Slot {
    uint64_t key = ~0ull;
    int32_t rank = 0, result = 0;
  };
  std::vector<Slot> slots;
  uint64_t mask = 0;

  static uint64_t key_of(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static uint64_t hash(uint64_t k) {
    k ^= k >> 31;
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 29);
  }
  explicit MergeTable(size_t n) {
    slots.resize(std::bit_ceil(std::max<size_t>(16, n * 2)));
    mask = slots.size() - 1;
  }
  // A pair listed twice keeps its last rule, as Hugging Face's map collected in rank order does.
  void insert(int32_t left, int32_t right, int32_t rank, int32_t result) {
    const uint64_t k = key_of(left, right);
    for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k || slots[i].key == ~0ull) {
        slots[i] = {k, rank, result};
        return;
      }
    }
  }
  const Slot* find(int32_t left, int32_t right) const {
    const uint64_t k = key_of(left, right);
    for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k) return &slots[i];
      if (slots[i].key == ~0ull) return nullptr;
    }
  }
};

// Pre-token -> ids (then ends) for pieces seen before: natural text repeats its words, so most
// pieces skip the merges. Bounded: cleared when full.
struct BpeModel::Cache {
  static constexpr size_t kMaxEntries = 1 << 18;
  static constexpr size_t kMaxPiece = 128;
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
};

BpeModel::BpeModel(Vocab vocab, const std::vector<Merge>& merges, BpeOptions options)
    : Model(std::move(vocab)), options_(options), table_(std::make_shared<MergeTable>(merges.size())),
      cache_(std::make_shared<Cache>()) {
  for (size_t r = 0; r < merges.size(); ++r) table_->insert(merges[r].left, merges[r].right, static_cast<int32_t>(r), merges[r].result);
  if (options_.byte_level) {
    byte_ids_.assign(256, -1);
    for (int b = 0; b < 256; ++b) byte_ids_[b] = vocab_.find(std::string(1, static_cast<char>(b)));
  } else if (options_.byte_fallback) {
    byte_ids_ = vocab_.byte_tokens();
  }
}

std::vector<Merge> BpeModel::merges() const {
  std::vector<std::pair<int32_t, Merge>> ranked;
  for (const auto& s : table_->slots)
    if (s.key != ~0ull)
      ranked.push_back({s.rank, Merge{static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFF), s.result}});
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Merge> out;
  out.reserve(ranked.size());
  for (const auto& [rank, m] : ranked) out.push_back(m);
  return out;
}

void BpeModel::initial_symbols(std::string_view piece) const {
  symbols_.clear();
  auto add = [&](int32_t id, size_t end) {
    const auto n = static_cast<int32_t>(symbols_.size());
    symbols_.push_back({id, n - 1, -1, static_cast<uint32_t>(end)});
    if (n > 0) symbols_[n - 1].next = n;
  };
  if (options_.byte_level) {
    for (size_t i = 0; i < piece.size(); ++i) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(piece[i])];
      if (id >= 0) add(id, i + 1);
      else if (options_.unk_id >= 0) add(options_.unk_id, i + 1);
      else ++dropped_;
    }
    return;
  }
  bool pending_unk = false;
  for (size_t i = 0; i < piece.size();) {
    const size_t len = std::max<size_t>(1, utf8_length(piece, i));
    const int32_t id = vocab_.find(piece.substr(i, len));
    if (id >= 0) {
      add(id, i + len);
      pending_unk = false;
    } else if (options_.byte_fallback &&
               std::all_of(piece.begin() + i, piece.begin() + i + len, [&](char b) { return byte_ids_[static_cast<uint8_t>(b)] >= 0; })) {
      for (size_t k = 0; k < len; ++k) add(byte_ids_[static_cast<uint8_t>(piece[i + k])], i + k + 1);
    } else if (options_.unk_id >= 0) {
      if (pending_unk && options_.fuse_unk) symbols_.back().end = static_cast<uint32_t>(i + len);
      else add(options_.unk_id, i + len);
      pending_unk = true;
    } else {
      dropped_ += len;
    }
    i += len;
  }
}

void BpeModel::push_candidate(int32_t pos) const {
  if (pos < 0) return;
  const Symbol& l = symbols_[pos];
  if (l.next < 0) return;
  const int32_t right = symbols_[l.next].id;
  if (const auto* m = table_->find(l.id, right)) {
    heap_.push_back({m->rank, pos, l.id, right, m->result});
    std::push_heap(heap_.begin(), heap_.end(), [](const Candidate& a, const Candidate& b) {
      return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    });
  }
}

// Hugging Face's Word::merge_all: repeatedly apply the lowest-ranked pair present, the leftmost
// one first; stale candidates (a side already merged away) are skipped when popped.
void BpeModel::merge_all() const {
  const auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  heap_.clear();
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols_.size()); ++i) push_candidate(i);
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    const Candidate c = heap_.back();
    heap_.pop_back();
    Symbol& l = symbols_[c.pos];
    if (l.id != c.left || l.next < 0 || symbols_[l.next].id != c.right) continue;
    Symbol& r = symbols_[l.next];
    l.id = c.result;
    l.end = r.end;
    l.next = r.next;
    if (l.next >= 0) symbols_[l.next].prev = c.pos;
    r.id = -1;
    push_candidate(l.prev);
    push_candidate(c.pos);
  }
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (const int32_t id = vocab_.find(piece); id >= 0) {
      ids.push_back(id);
      if (ends) ends->push_back(static_cast<uint32_t>(piece.size()));
      return;
    }
  }
  const bool cacheable = piece.size() <= Cache::kMaxPiece;
  if (cacheable) {
    if (const auto it = cache_->map.find(piece); it != cache_->map.end()) {
      const auto& v = it->second;
      const size_t n = v.size() / 2;
      ids.insert(ids.end(), v.begin(), v.begin() + static_cast<ptrdiff_t>(n));
      if (ends)
        for (size_t k = 0; k < n; ++k) ends->push_back(static_cast<uint32_t>(v[n + k]));
      return;
    }
  }
  initial_symbols(piece);
  merge_all();
  const size_t first = ids.size();
  for (int32_t i = symbols_.empty() ? -1 : 0; i >= 0; i = symbols_[i].next) {
    ids.push_back(symbols_[i].id);
    if (ends) ends->push_back(symbols_[i].end);
  }
  if (!cacheable) return;
  if (cache_->map.size() >= Cache::kMaxEntries) cache_->map.clear();
  std::vector<int32_t> entry(ids.begin() + static_cast<ptrdiff_t>(first), ids.end());
  for (int32_t i = symbols_.empty() ? -1 : 0; i >= 0; i = symbols_[i].next) entry.push_back(static_cast<int32_t>(symbols_[i].end));
  cache_->map.emplace(std::string(piece), std::move(entry));
}

SpmModel::SpmModel(Vocab vocab, int32_t unk_id) : Model(std::move(vocab)), unk_id_(unk_id), byte_ids_(vocab_.byte_tokens()) {
  vocab_.scores.resize(vocab_.pieces.size(), 0.0f);
}

// llama.cpp's llm_tokenizer_spm: start from characters, repeatedly merge the adjacent pair whose
// concatenation is a token with the highest score (leftmost on ties); what is left and not a token
// falls back to bytes.
void SpmModel::encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const {
  symbols_.clear();
  for (size_t i = 0; i < piece.size();) {
    const size_t len = std::min(std::max<size_t>(1, utf8_length(piece, i)), piece.size() - i);
    const auto n = static_cast<int32_t>(symbols_.size());
    symbols_.push_back({n - 1, -1, static_cast<uint32_t>(i), static_cast<uint32_t>(len)});
    if (n > 0) symbols_[n - 1].next = n;
    i += len;
  }
  const auto worse = [](const Bigram& a, const Bigram& b) { return a.score != b.score ? a.score < b.score : a.left > b.left; };
  queue_.clear();
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const auto& l = symbols_[left];
    const auto& r = symbols_[right];
    const int32_t id = vocab_.find(piece.substr(l.begin, l.len + r.len));
    if (id < 0) return;
    queue_.push_back({vocab_.scores[id], left, l.len + r.len});
    std::push_heap(queue_.begin(), queue_.end(), worse);
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols_.size()); ++i) try_add(i - 1, i);
  while (!queue_.empty()) {
    std::pop_heap(queue_.begin(), queue_.end(), worse);
    const Bigram b = queue_.back();
    queue_.pop_back();
    Symbol& l = symbols_[b.left];
    if (l.len == 0 || l.next < 0) continue;
    Symbol& r = symbols_[l.next];
    if (r.len == 0 || l.len + r.len != b.size) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (l.next >= 0) symbols_[l.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int32_t i = symbols_.empty() ? -1 : 0; i >= 0; i = symbols_[i].next) {
    const Symbol& s = symbols_[i];
    if (const int32_t id = vocab_.find(piece.substr(s.begin, s.len)); id >= 0) {
      ids.push_back(id);
      if (ends) ends->push_back(s.begin + s.len);
      continue;
    }
    for (uint32_t k = 0; k < s.len; ++k) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(piece[s.begin + k])];
      if (id < 0 && unk_id_ < 0) {
        ++dropped_;
        continue;
      }
      ids.push_back(id >= 0 ? id : unk_id_);
      if (ends) ends->push_back(s.begin + k + 1);
    }
  }
}

void CharModel::encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const {
  for (size_t i = 0; i < piece.size();) {
    const size_t len = std::max<size_t>(1, utf8_length(piece, i));
    const int32_t id = vocab_.find(piece.substr(i, len));
    if (id < 0)
      fail(ErrorKind::format, fmt::format("{}: the character '{}' (byte {}) is not in this character vocabulary of {} symbols",
                                          source_, piece.substr(i, len), i, vocab_.size()));
    ids.push_back(id);
    if (ends) ends->push_back(static_cast<uint32_t>(i + len));
    i += len;
  }
}

}  // namespace anatomy::tokenizer

namespace anatomy::tokenizer {

std::string BpeModel::alphabet() const {
  return options_.byte_level ? "bytes" : options_.byte_fallback ? "characters, byte fallback" : "characters";
}

void BpeModel::portable(PortableVocab& out) const {
  out.tokens = vocab_.display;
  for (const TokenType t : vocab_.types) out.types.push_back(static_cast<int32_t>(t));
  if (options_.byte_level) {
    out.model = "gpt2";
    for (const Merge& m : merges()) out.merges.push_back(vocab_.display[m.left] + " " + vocab_.display[m.right]);
    return;
  }
  if (!options_.byte_fallback)
    fail(ErrorKind::unsupported, "this BPE vocabulary is neither byte-level nor SentencePiece-style (byte fallback): GGUF has no form for it");
  // llama.cpp's SentencePiece merges the pair whose result scores highest; scoring each token by
  // minus the rank of its first merge makes that the order the merges list gives.
  out.model = "llama";
  out.scores.assign(vocab_.pieces.size(), -1e9f);
  const auto merges_in_order = merges();
  for (size_t r = merges_in_order.size(); r-- > 0;) out.scores[merges_in_order[r].result] = -static_cast<float>(r);
  out.unk = options_.unk_id;
}

void SpmModel::portable(PortableVocab& out) const {
  out.model = "llama";
  out.tokens = vocab_.display;
  out.scores = vocab_.scores;
  for (const TokenType t : vocab_.types) out.types.push_back(static_cast<int32_t>(t));
  out.unk = unk_id_;
}

void CharModel::portable(PortableVocab&) const {
  fail(ErrorKind::unsupported, source_ + ": a character vocabulary has no GGUF form (llama.cpp knows BPE and SentencePiece vocabularies)");
}

}  // namespace anatomy::tokenizer
