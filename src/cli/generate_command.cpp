// `anatomy generate MODEL (--prompt TEXT | --prompt-file F)`: text from the model, streamed to
// stdout as it is produced (valid UTF-8 only), with the timing of prefill and decode on stderr;
// `--format json` prints the document (anatomy.generate/1) at the end instead.
#include <cstdio>

#include <fmt/format.h>

#include "backend/device.h"
#include "cli/commands.h"
#include "cli/ids.h"
#include "cli/text_input.h"
#include "cli/weights.h"
#include "core/error.h"
#include "inference/generate.h"

namespace anatomy::cli {

namespace {

io::ordered_json timing(const inference::GenerateResult& r, size_t prompt_tokens) {
  const double decode_tok_s = r.decode_seconds > 0 ? static_cast<double>(r.decode_steps) / r.decode_seconds : 0.0;
  return {{"prompt_tokens", prompt_tokens},
          {"prefill_seconds", r.prefill_seconds},
          {"prefill_tok_per_s", r.prefill_seconds > 0 ? static_cast<double>(prompt_tokens) / r.prefill_seconds : 0.0},
          {"time_to_first_token_seconds", r.first_token_seconds},
          {"generated_tokens", r.ids.size()},
          {"decode_steps", r.decode_steps},
          {"decode_seconds", r.decode_seconds},
          {"decode_tok_per_s", decode_tok_s}};
}

}  // namespace

std::string generate_command(const GenerateOptions& o, Progress& progress) {
  use_threads_and_gemm_plan(o.threads);
  models::LoadedModel lm = models::load_model(o.model);
  const auto tok = model_tokenizer(o.model, o.tokenizer);
  const std::string prompt = o.prompt_file.empty() ? o.prompt : read_text(o.prompt_file, "--prompt-file");
  tokenizer::EncodeOptions eo;
  eo.add_special = !o.no_special;
  const auto enc = tok->encode(tok->prepare(prompt, nullptr), eo);
  std::vector<int64_t> ids(enc.ids.begin(), enc.ids.end());
  const nn::LanguageModel& root = *lm.model.root;
  if (ids.empty() && tok->bos_id() >= 0) ids.push_back(tok->bos_id());  // an empty prompt starts from BOS
  for (const int64_t id : ids)
    if (id >= root.vocab_size())
      fail(ErrorKind::config, fmt::format("the tokenizer gives id {} but the model's vocabulary has {} ids ({})", id, root.vocab_size(),
                                          tok->source()));
  std::vector<int64_t> source;
  if (!o.source.empty()) {
    const auto s = tok->encode(tok->prepare(o.source, nullptr));
    source.assign(s.ids.begin(), s.ids.end());
  }
  if (!o.source_ids.empty()) source = parse_ids(o.source_ids, root.source_vocab_size() > 0 ? root.source_vocab_size() : 1, "--source-ids");
  if (root.source_vocab_size() > 0 && source.empty()) fail(ErrorKind::config, "an encoder-decoder needs --source TEXT or --source-ids");
  if (root.source_vocab_size() == 0 && !source.empty()) fail(ErrorKind::config, "--source: " + lm.model.architecture + " has no encoder");

  const WeightChoice choice = choose_weights(lm, o.random_weights, "");
  guard_memory(lm, choice, {.tokens = static_cast<int64_t>(ids.size()) + o.max_new_tokens}, o.force, o.device);
  const Weights w = prepare_weights(lm, choice, o.seed, progress);

  inference::GenerateOptions go;
  go.backend = place_weights(lm, o.device, progress);
  go.max_new_tokens = o.max_new_tokens;
  go.stop = o.stop;
  go.stop_at_eos = !o.ignore_eos;
  go.sampling = {.temperature = o.temperature, .top_k = o.top_k, .top_p = o.top_p, .min_p = o.min_p,
                 .repetition_penalty = o.repetition_penalty, .seed = o.seed};
  const bool stream = o.format == "text";
  const auto r = inference::generate(lm.model, *tok, ids, source, go, [&](std::string_view piece) {
    if (!stream) return;
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  const io::ordered_json t = timing(r, ids.size());
  if (stream) {
    std::fputc('\n', stdout);
    fmt::print(stderr, "prompt {} tokens, prefill {:.1f} tok/s; generated {} tokens, decode {:.1f} tok/s; first token after {:.1f} ms "
                       "({} threads, {}; stop: {})\n",
               ids.size(), t["prefill_tok_per_s"].get<double>(), r.ids.size(), t["decode_tok_per_s"].get<double>(),
               r.first_token_seconds * 1e3, backend::threads(), w.description, r.stop_reason);
    return "";
  }
  io::ordered_json d = {{"schema", "anatomy.generate/1"}, {"model", o.model}, {"architecture", lm.model.architecture},
                        {"weights", w.description}, {"tokenizer", tok->describe()}, {"prompt", prompt},
                        {"prompt_ids", ids}, {"ids", r.ids}, {"text", r.text}, {"stop_reason", r.stop_reason},
                        {"sampling", {{"temperature", o.temperature}, {"top_k", o.top_k}, {"top_p", o.top_p}, {"min_p", o.min_p},
                                      {"repetition_penalty", o.repetition_penalty}, {"seed", o.seed}}},
                        {"threads", backend::threads()}, {"device", o.device}, {"cache", r.cache},
                        {"launch", r.launch}, {"timing", t}};
  return d.dump(2, ' ', false, io::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace anatomy::cli
