// `anatomy eval MODEL --text FILE`: perplexity by llama-perplexity's protocol (or the Hugging Face
// guide's strided one with --stride), printed with the protocol it used; anatomy.eval/1 in JSON.
#include <fmt/format.h>

#include "backend/device.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/text_input.h"
#include "cli/weights.h"
#include "inference/perplexity.h"

namespace anatomy::cli {

io::ordered_json eval_document(const EvalOptions& o, Progress& progress) {
  use_threads_and_gemm_plan(o.threads);
  models::LoadedModel lm = models::load_model(o.model);
  const auto tok = model_tokenizer(o.model, o.tokenizer);
  const std::string raw = read_text(o.text_file, "--text");
  size_t replaced = 0;
  const std::string text = tok->prepare(raw, &replaced);
  const int64_t context = lm.model.root->max_positions();
  inference::PerplexityOptions po;
  po.ctx = o.ctx > 0 ? o.ctx : context > 0 ? std::min<int64_t>(512, context) : 512;
  po.stride = o.stride;
  po.max_windows = o.chunks;
  const WeightChoice choice = choose_weights(lm, o.random_weights, "");
  guard_memory(lm, choice, {.tokens = po.ctx}, o.force, o.device);
  const Weights w = prepare_weights(lm, choice, o.seed, progress);
  po.backend = place_weights(lm, o.device, progress);
  const bool pairs = lm.model.root->source_vocab_size() > 0;
  const auto r = pairs ? inference::pair_perplexity(lm.model, *tok, text, o.text_file, progress, po.backend)
                       : inference::perplexity(lm.model, *tok, text, po, progress);
  return {{"schema", "anatomy.eval/1"}, {"model", o.model}, {"architecture", lm.model.architecture}, {"weights", w.description},
          {"tokenizer", tok->describe()}, {"text", {{"file", o.text_file}, {"bytes", raw.size()}, {"invalid_utf8_replaced", replaced}}},
          {"protocol", r.protocol}, {"ctx", pairs ? 0 : po.ctx}, {"stride", po.stride}, {"bos", r.bos}, {"windows", r.windows},
          {"tokens", r.tokens}, {"tokens_scored", r.tokens_scored}, {"bytes_scored", r.bytes_scored},
          {"nll", r.nll}, {"ppl", r.ppl}, {"bits_per_byte", r.bits_per_byte}, {"seconds", r.seconds},
          {"threads", backend::threads()}, {"device", o.device}};
}

std::string eval_command(const EvalOptions& o, Progress& progress) {
  const io::ordered_json d = eval_document(o, progress);
  if (o.format == "json") return d.dump(2, ' ', false, io::ordered_json::error_handler_t::replace) + "\n";
  Table t({"measure", "value"}, {Table::Align::left, Table::Align::right});
  t.add({"perplexity", fmt::format("{:.4f}", d["ppl"].get<double>())});
  t.add({"mean NLL (nats/token)", fmt::format("{:.5f}", d["nll"].get<double>())});
  t.add({"bits per byte", fmt::format("{:.5f}", d["bits_per_byte"].get<double>())});
  t.add({"tokens scored", with_commas(d["tokens_scored"].get<uint64_t>())});
  t.add({"bytes scored", with_commas(d["bytes_scored"].get<uint64_t>())});
  const Format f = parse_format(o.format);
  std::string out = t.render(f);
  const int64_t ctx = d["ctx"].get<int64_t>(), stride = d["stride"].get<int64_t>();
  const std::string window = ctx == 0 ? fmt::format("{} pairs", d["windows"].get<int64_t>())
                             : fmt::format("ctx {}, {}, {} windows", ctx,
                                           stride > 0 ? fmt::format("stride {}", stride) : "scoring the second half of each window",
                                           d["windows"].get<int64_t>());
  out += fmt::format("protocol: {}; {}; BOS {}; {} tokens in {} ({} bytes); {:.2f} s on {} threads; {}\n", d["protocol"].get<std::string>(),
                     window, d["bos"].get<bool>() ? "yes" : "no", d["tokens"].get<int64_t>(), o.text_file,
                     d["text"]["bytes"].get<uint64_t>(), d["seconds"].get<double>(), d["threads"].get<int>(), d["weights"].get<std::string>());
  return out;
}

}  // namespace anatomy::cli
