// tokenizer.model through Debian's libsentencepiece (the reference implementation itself, so
// BPE and Unigram models both encode exactly as spm_encode does).
#include <sentencepiece_processor.h>

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace anatomy::tokenizer {

namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& path, bool add_bos, bool add_eos) : add_bos_(add_bos), add_eos_(add_eos) {
    const auto status = sp_.Load(path);
    if (!status.ok()) fail(ErrorKind::format, path + ": not a SentencePiece model (" + status.ToString() + ")");
    set_source(path);
  }

  std::string prepare(std::string_view raw, size_t* replaced) const override {
    if (replaced) *replaced = 0;
    return std::string(raw);
  }

  Encoding encode(std::string_view text, const EncodeOptions& options) const override {
    Encoding out;
    const bool bos = options.add_special && add_bos_ && sp_.bos_id() >= 0;
    if (bos) out.ids.push_back(sp_.bos_id());
    const auto proto = sp_.EncodeAsImmutableProto(absl::string_view(text.data(), text.size()));
    for (const auto& piece : proto.pieces()) {
      out.ids.push_back(static_cast<int32_t>(piece.id()));
      if (options.offsets) out.offsets.push_back({piece.begin(), piece.end()});
    }
    if (options.offsets && bos) out.offsets.insert(out.offsets.begin(), {0, 0});
    if (options.add_special && add_eos_ && sp_.eos_id() >= 0) {
      out.ids.push_back(sp_.eos_id());
      if (options.offsets) out.offsets.push_back({0, 0});
    }
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
    std::vector<int> kept;
    for (const int32_t id : ids) {
      check(id);
      if (!(skip_special && sp_.IsControl(id))) kept.push_back(id);
    }
    std::string text;
    const auto status = sp_.Decode(kept, &text);
    if (!status.ok()) fail(ErrorKind::format, source_ + ": cannot decode (" + status.ToString() + ")");
    return text;
  }

  std::string token(int32_t id) const override {
    check(id);
    return sp_.IdToPiece(id);
  }
  int32_t size() const override { return sp_.GetPieceSize(); }
  int32_t bos_id() const override { return sp_.bos_id(); }
  int32_t eos_id() const override { return sp_.eos_id(); }

  io::json describe() const override {
    return {{"format", "tokenizer.model"}, {"source", source_}, {"model", "sentencepiece"}, {"vocab_size", size()},
            {"alphabet", "characters, byte fallback"}, {"adds_before", add_bos_ && sp_.bos_id() >= 0 ? io::json::array({token(sp_.bos_id())}) : io::json::array()},
            {"adds_after", add_eos_ && sp_.eos_id() >= 0 ? io::json::array({token(sp_.eos_id())}) : io::json::array()},
            {"bos", sp_.bos_id() >= 0 ? io::json(token(sp_.bos_id())) : io::json(nullptr)},
            {"eos", sp_.eos_id() >= 0 ? io::json(token(sp_.eos_id())) : io::json(nullptr)}};
  }

  PortableVocab portable() const override {
    PortableVocab v;
    v.model = "llama";
    for (int id = 0; id < sp_.GetPieceSize(); ++id) {
      v.tokens.push_back(sp_.IdToPiece(id));
      v.scores.push_back(sp_.GetScore(id));
      const TokenType type = sp_.IsUnknown(id) ? TokenType::unknown : sp_.IsControl(id) ? TokenType::control
                             : sp_.IsByte(id) ? TokenType::byte : sp_.IsUnused(id) ? TokenType::unused : TokenType::normal;
      v.types.push_back(static_cast<int32_t>(type));
    }
    v.bos = sp_.bos_id();
    v.eos = sp_.eos_id();
    v.unk = sp_.unk_id();
    v.add_bos = add_bos_;
    v.add_eos = add_eos_;
    // The model's add_dummy_prefix, observed: does "a" encode to a piece that starts with '▁'?
    std::vector<std::string> pieces;
    (void)sp_.Encode("a", &pieces);
    v.add_space_prefix = !pieces.empty() && pieces[0].rfind("\u2581", 0) == 0;
    return v;
  }

 private:
  void check(int32_t id) const {
    if (id < 0 || id >= size()) fail(ErrorKind::format, fmt::format("token id {} is outside the vocabulary of {} ids ({})", id, size(), source_));
  }
  sentencepiece::SentencePieceProcessor sp_;
  bool add_bos_, add_eos_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path, bool add_bos, bool add_eos) {
  return std::make_unique<SentencePieceTokenizer>(path, add_bos, add_eos);
}

}  // namespace anatomy::tokenizer
