// References: llama.cpp tools/perplexity/perplexity.cpp (perplexity(): windows, BOS replacement,
// first = n_ctx/2) and the Hugging Face guide "Perplexity of fixed-length models".
#include "inference/perplexity.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "backend/backend.h"
#include "core/error.h"
#include "nn/module.h"
#include "ops/loss.h"

namespace anatomy::inference {

namespace {

struct Scorer {
  const nn::LanguageModel& lm;
  const ops::Context ctx;
  double nll = 0;
  int64_t scored = 0, bytes = 0;

  // The figures of what was scored, into `r`.
  void finish(PerplexityResult& r, std::chrono::steady_clock::time_point start) const {
    r.tokens_scored = scored;
    r.bytes_scored = bytes;
    r.nll = nll / static_cast<double>(scored);
    r.ppl = std::exp(r.nll);
    r.bits_per_byte = bytes > 0 ? nll / std::log(2.0) / static_cast<double>(bytes) : 0.0;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Scores window[p+1] from the logits at p, for p in [from, window.size() - 1); `source`: the
  // encoder's input of an encoder-decoder.
  void window(const std::vector<int64_t>& ids, const std::vector<int64_t>& token_bytes, int64_t begin, int64_t length,
              int64_t from, int64_t bos, const Tensor* source = nullptr) {
    std::vector<int64_t> input(ids.begin() + begin, ids.begin() + begin + length);
    if (bos >= 0) input[0] = bos;
    Tensor t = Tensor::empty(DType::I64, {1, length});
    std::copy(input.begin(), input.end(), t.data<int64_t>());
    // Position p is scored on the next id; the others are ignored by the loss.
    constexpr int64_t kIgnore = -100;
    Tensor targets = Tensor::empty(DType::I64, {1, length});
    for (int64_t p = 0; p < length; ++p) targets.data<int64_t>()[p] = p >= from && p + 1 < length ? ids[begin + p + 1] : kIgnore;
    nn::State state(1, length);
    nn::Run run(ctx, state);
    run.source_ids = source;
    const Tensor logits = lm.forward_ids(run, t);  // (1, length, V)
    // The loss runs where the logits are: only one float per position comes back from a device.
    const Tensor loss = ctx.backend().to_host(ops::cross_entropy(ctx, logits, targets, kIgnore));  // (1, length)
    for (int64_t p = from; p + 1 < length; ++p) {
      nll += loss.data<float>()[p];
      bytes += token_bytes[begin + p + 1];
      ++scored;
    }
  }
};

}  // namespace

PerplexityResult perplexity(const models::Model& model, const tokenizer::Tokenizer& tok, const std::string& text,
                            const PerplexityOptions& o, Progress& progress) {
  const nn::LanguageModel& lm = *model.root;
  if (lm.source_vocab_size() > 0)
    fail(ErrorKind::config, "eval: an encoder-decoder is scored on source/target pairs: give a .tsv file (source<TAB>target per line)");
  if (o.ctx < 2) fail(ErrorKind::config, "--ctx: a window needs at least 2 tokens");
  lm.check_positions(0, o.ctx);
  const auto start = std::chrono::steady_clock::now();
  tokenizer::EncodeOptions eo;
  eo.offsets = true;
  const auto enc = tok.encode(text, eo);
  const std::vector<int64_t> ids(enc.ids.begin(), enc.ids.end());
  std::vector<int64_t> token_bytes(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) token_bytes[i] = enc.offsets[i].second - enc.offsets[i].first;
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t bos = tok.bos_id();
  PerplexityResult r;
  r.tokens = n;
  r.bos = bos >= 0 && !enc.ids.empty() && enc.ids.front() == bos;
  Scorer s{lm, ops::Context(o.backend)};
  if (o.stride == 0) {
    r.protocol = "llama-perplexity windows";
    if (n < 2 * o.ctx)
      fail(ErrorKind::config, fmt::format("eval: the text has {} tokens; llama-perplexity's protocol needs at least 2 × --ctx = {}", n, 2 * o.ctx));
    r.windows = n / o.ctx;
    if (o.max_windows > 0) r.windows = std::min(r.windows, o.max_windows);
    ProgressTask task(progress, "perplexity", static_cast<uint64_t>(r.windows));
    for (int64_t w = 0; w < r.windows; ++w) {
      s.window(ids, token_bytes, w * o.ctx, o.ctx, o.ctx / 2, r.bos ? bos : -1);
      task.update(static_cast<uint64_t>(w + 1));
    }
  } else {
    r.protocol = "strided (Hugging Face guide)";
    if (o.stride > o.ctx) fail(ErrorKind::config, "--stride: must not exceed --ctx");
    if (n < 2) fail(ErrorKind::config, "eval: the text has fewer than 2 tokens");
    const int64_t total = (std::max<int64_t>(0, n - o.ctx) + o.stride - 1) / o.stride + 1;
    ProgressTask task(progress, "perplexity", static_cast<uint64_t>(total));
    int64_t reached = 1;  // tokens [0, reached) already scored or unscoreable (the first)
    for (int64_t begin = 0;; begin += o.stride) {
      const int64_t end = std::min(begin + o.ctx, n);
      s.window(ids, token_bytes, begin, end - begin, reached - 1 - begin, -1);
      reached = end;
      task.update(static_cast<uint64_t>(++r.windows));
      if (end == n || (o.max_windows > 0 && r.windows == o.max_windows)) break;
    }
  }
  s.finish(r, start);
  return r;
}

PerplexityResult pair_perplexity(const models::Model& model, const tokenizer::Tokenizer& tok, const std::string& tsv,
                                 const std::string& file, Progress& progress,
                                 const std::shared_ptr<const backend::Backend>& device) {
  const nn::LanguageModel& lm = *model.root;
  if (lm.source_vocab_size() == 0) fail(ErrorKind::config, file + ": source/target pairs need an encoder-decoder");
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  size_t line_no = 0;
  for (size_t at = 0; at < tsv.size(); ++line_no) {
    const size_t nl = std::min(tsv.find('\n', at), tsv.size());
    const std::string_view line = std::string_view(tsv).substr(at, nl - at);
    at = nl + 1;
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) fail(ErrorKind::format, fmt::format("{}: line {}: no tab between source and target", file, line_no + 1));
    pairs.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  if (pairs.empty()) fail(ErrorKind::format, file + ": no source<TAB>target lines");
  PerplexityResult r;
  r.protocol = "source/target pairs (each target token after the first, given the source and the target before it)";
  Scorer s{lm, ops::Context(device)};
  ProgressTask task(progress, "perplexity", pairs.size());
  tokenizer::EncodeOptions eo;
  eo.offsets = true;
  for (const auto& [src_text, trg_text] : pairs) {
    const auto src = tok.encode(src_text);
    const auto trg = tok.encode(trg_text, eo);
    if (src.ids.empty() || trg.ids.size() < 2) continue;
    Tensor source = Tensor::empty(DType::I64, {1, static_cast<int64_t>(src.ids.size())});
    std::copy(src.ids.begin(), src.ids.end(), source.data<int64_t>());
    lm.check_positions(0, std::max<int64_t>(source.dim(1), static_cast<int64_t>(trg.ids.size())));
    const std::vector<int64_t> ids(trg.ids.begin(), trg.ids.end());
    std::vector<int64_t> bytes(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) bytes[i] = trg.offsets[i].second - trg.offsets[i].first;
    s.window(ids, bytes, 0, static_cast<int64_t>(ids.size()), 0, -1, &source);
    r.tokens += static_cast<int64_t>(ids.size());
    task.update(static_cast<uint64_t>(++r.windows));
  }
  if (s.scored == 0) fail(ErrorKind::format, file + ": no pair has a target of two tokens or more");
  s.finish(r, start);
  return r;
}

}  // namespace anatomy::inference
