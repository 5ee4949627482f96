// `anatomy run MODEL --ids 1,2,3`: one forward pass on real weights (or deterministic synthetic
// ones), the next-token top-k, and optionally every logit as a .npy file.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "backend/cpu/gemm.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/weights.h"
#include "core/error.h"
#include "io/npy.h"
#include "models/loader.h"
#include "nn/module.h"

namespace anatomy::cli {
namespace {

std::vector<int64_t> parse_ids(const std::string& text, int64_t vocab) {
  std::vector<int64_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v < 0 || v >= vocab)
      fail(ErrorKind::config, fmt::format("--ids: '{}' is not a token id in [0, {})", item, vocab));
    ids.push_back(v);
  }
  if (ids.empty()) fail(ErrorKind::config, "--ids: no token ids given");
  return ids;
}

}  // namespace

std::string run_command(const RunOptions& o) {
  const Format f = parse_format(o.format);
  if (o.threads < 0) fail(ErrorKind::config, "--threads must be positive");
  cpu::set_threads(o.threads);
  models::LoadedModel lm = models::load_model(o.model);
  const auto* root = dynamic_cast<const nn::LanguageModel*>(lm.model.root.get());
  if (!root) fail(ErrorKind::unsupported, lm.model.architecture + ": no forward pass yet");
  const auto& embed_shape = nn::parameter_slots(*lm.model.root).front().param->value.shape();
  const std::vector<int64_t> ids = parse_ids(o.ids, embed_shape[0]);

  const WeightChoice choice = choose_weights(lm, o.random_weights, "");
  guard_memory(lm, choice, {.tokens = static_cast<int64_t>(ids.size())}, o.force);
  const Weights w = prepare_weights(lm, choice, o.seed);
  if (o.check_tensors) require_finite_weights(lm);
  const std::string& weights = w.description;

  const auto T = static_cast<int64_t>(ids.size());
  Tensor input = Tensor::empty(DType::I64, {1, T});
  std::copy(ids.begin(), ids.end(), input.data<int64_t>());
  const ops::Context ctx(/*meta=*/false);
  nn::State state(1, T);
  nn::Run run(ctx, state);
  const Tensor logits = root->forward_ids(run, input);  // (1, T, V)
  const int64_t V = logits.dim(-1);
  const float* last = logits.data<float>() + (T - 1) * V;
  for (int64_t i = 0; i < V; ++i)
    if (!std::isfinite(last[i])) fail(ErrorKind::internal, fmt::format("logit {} is not finite", i));

  const double mx = *std::max_element(last, last + V);
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(last[i] - mx);
  std::vector<int64_t> order(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) order[i] = i;
  const auto k = std::min<int64_t>(o.top_k, V);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) { return last[a] > last[b]; });
  if (!o.dump_logits.empty()) io::write_npy(o.dump_logits, logits);

  io::ordered_json top = io::ordered_json::array();
  Table t({"rank", "token id", "logit", "probability"}, {Table::Align::right, Table::Align::right, Table::Align::right, Table::Align::right});
  for (int64_t r = 0; r < k; ++r) {
    const int64_t id = order[r];
    const double p = std::exp(last[id] - mx) / sum;
    top.push_back({{"id", id}, {"logit", last[id]}, {"probability", p}});
    t.add({std::to_string(r + 1), std::to_string(id), fmt::format("{:.6f}", last[id]), fmt::format("{:.6f}", p)});
  }
  if (f == Format::json)
    return io::ordered_json{{"schema", "anatomy.run/1"}, {"model", lm.model.architecture}, {"weights", weights},
                            {"ids", ids}, {"top", top}}
               .dump(2) + "\n";
  return fmt::format("{} ({}), weights: {}\nids: {}\n", o.model, lm.model.architecture, weights, o.ids) +
         heading(fmt::format("Next token after position {}: top {}", T - 1, k), f) + t.render(f);
}

}  // namespace anatomy::cli
