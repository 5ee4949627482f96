#include "inference/generate.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "backend/backend.h"
#include "core/error.h"
#include "inference/state_passes.h"
#include "nn/module.h"

namespace anatomy::inference {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Tensor ids_tensor(std::span<const int64_t> ids) {
  Tensor t = Tensor::empty(DType::I64, {1, static_cast<int64_t>(ids.size())});
  std::copy(ids.begin(), ids.end(), t.data<int64_t>());
  return t;
}

// The text generated so far, released as valid UTF-8 and never into a possible stop string.
class Stream {
 public:
  Stream(const tokenizer::Tokenizer& tok, const std::vector<std::string>& stop, const std::function<void(std::string_view)>& out)
      : tok_(tok), stop_(stop), out_(out) {
    for (const auto& s : stop) hold_ = std::max(hold_, s.size());
  }
  // Decodes `ids`; true when a stop string appeared (the text is cut before it).
  bool update(const std::vector<int64_t>& ids) {
    text_ = tok_.decode(std::vector<int32_t>(ids.begin(), ids.end()));
    for (const auto& s : stop_)
      if (const size_t at = text_.find(s, emitted_ > hold_ ? emitted_ - hold_ : 0); at != std::string::npos) {
        text_.resize(at);
        flush();
        return true;
      }
    // Hold back an incomplete character (decoded as U+FFFD at the end) and what could start a stop string.
    size_t ready = text_.size();
    while (ready >= 3 && text_.compare(ready - 3, 3, "\xEF\xBF\xBD") == 0) ready -= 3;
    ready = hold_ ? std::min(ready, text_.size() > hold_ - 1 ? text_.size() - (hold_ - 1) : 0) : ready;
    while (ready > 0 && ready < text_.size() && (static_cast<uint8_t>(text_[ready]) & 0xC0) == 0x80) --ready;
    emit(ready);
    return false;
  }
  void flush() { emit(text_.size()); }
  const std::string& text() const { return text_; }

 private:
  void emit(size_t upto) {
    if (upto > emitted_ && text_.size() >= upto) {
      out_(std::string_view(text_).substr(emitted_, upto - emitted_));
      emitted_ = upto;
    }
  }
  const tokenizer::Tokenizer& tok_;
  const std::vector<std::string>& stop_;
  const std::function<void(std::string_view)>& out_;
  std::string text_;
  size_t emitted_ = 0, hold_ = 0;
};

}  // namespace

GenerateResult generate(const models::Model& model, const tokenizer::Tokenizer& tok, const std::vector<int64_t>& prompt,
                        const std::vector<int64_t>& source, const GenerateOptions& o,
                        const std::function<void(std::string_view)>& on_text) {
  const nn::LanguageModel& lm = *model.root;
  const bool encdec = lm.source_vocab_size() > 0;
  const int64_t context = lm.max_positions();
  if (prompt.empty()) fail(ErrorKind::config, "generate: the prompt has no tokens");
  lm.check_positions(0, static_cast<int64_t>(prompt.size()));
  const int64_t eos = tok.eos_id();
  const ops::Context ctx(o.backend);
  const Tensor src = ids_tensor(source);

  GenerateResult r;
  r.cache = cached_state(lm);
  std::vector<int64_t> all = prompt;
  Sampler sampler(o.sampling);
  Stream stream(tok, o.stop, on_text);
  const int64_t budget = context > 0 ? std::min<int64_t>(context, static_cast<int64_t>(prompt.size()) + o.max_new_tokens)
                                     : static_cast<int64_t>(prompt.size()) + o.max_new_tokens;
  std::optional<nn::State> state(std::in_place, 1, budget);
  std::optional<StatePasses> passes(std::in_place, lm, ctx, *state, encdec ? &src : nullptr);
  const auto start = Clock::now();
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const auto t0 = Clock::now();
    const auto n = static_cast<int64_t>(all.size());
    const bool slide = context > 0 && n > context;
    std::span<const int64_t> feed = std::span<const int64_t>(all).subspan(all.size() - 1);
    if (step == 0 || slide) {
      // A fresh pass: the prompt, or the last `context` tokens.
      const int64_t from = slide ? n - context : 0;
      passes.reset();
      state.emplace(1, step == 0 ? budget : n - from);
      passes.emplace(lm, ctx, *state, encdec ? &src : nullptr);
      feed = std::span<const int64_t>(all).subspan(static_cast<size_t>(from));
      if (slide) r.cache = "sliding window of " + std::to_string(context) + " tokens (recomputed each step, as nanoGPT)";
    }
    const Tensor logits = o.backend->to_host(passes->last_logits(ids_tensor(feed)));  // (1, 1, V)
    if (step == 0) r.prefill_seconds = since(t0);
    const std::span<const float> last(logits.data<float>() + logits.numel() - logits.dim(-1), static_cast<size_t>(logits.dim(-1)));
    const int64_t next = sampler.sample(last, all);
    if (step == 0) {
      r.first_token_seconds = since(start);
    } else {
      r.decode_seconds += since(t0);
      ++r.decode_steps;
    }
    if (o.stop_at_eos && next == eos) {
      r.stop_reason = "eos";
      break;
    }
    all.push_back(next);
    r.ids.push_back(next);
    if (stream.update(r.ids)) {
      r.stop_reason = "stop string";
      break;
    }
  }
  r.launch = passes->how();
  if (r.stop_reason.empty()) r.stop_reason = "max_new_tokens";
  stream.flush();
  r.text = stream.text();
  return r;
}

}  // namespace anatomy::inference
