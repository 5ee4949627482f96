// `anatomy run MODEL --ids 1,2,3`: one forward pass on real weights (or deterministic synthetic
// ones), the next-token top-k, and optionally every logit as a .npy file. The document
// (anatomy.run/2) is built first; the table is rendered from it.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "analysis/guards.h"
#include "analysis/device.h"
#include "backend/device.h"
#include "cli/commands.h"
#include "cli/ids.h"
#include "cli/render.h"
#include "cli/weights.h"
#include "core/error.h"
#include "io/npy.h"
#include "models/loader.h"
#include "io/safetensors.h"
#include "nn/module.h"
#include "train/gradients.h"

namespace anatomy::cli {
namespace {

using Json = io::ordered_json;

// Names the module where the values first went non-finite, so the user knows where to look.
[[noreturn]] void non_finite_logits(const models::LoadedModel& lm, const Tensor& input, const Tensor* source, int64_t first,
                                    const std::shared_ptr<const backend::Backend>& device) {
  const auto where = analysis::first_non_finite_module(lm.model, input, source, device);
  const std::string origin = where ? fmt::format("; the first module whose output holds NaN or Inf is {} ({})", where->path, where->type)
                                   : "";
  fail(ErrorKind::format, fmt::format("{}: the logits are not finite (first at vocabulary id {}){}; --check-tensors scans "
                                      "the weights for NaN and Inf", lm.source, first, origin));
}

// The training loss over the ids (token t predicts token t + 1) and its gradient for every unique
// parameter, written under the parameters' names; the loss goes into the document.
double dump_gradients(const nn::LanguageModel& root, const std::vector<int64_t>& ids, const std::optional<Tensor>& source,
                      const std::string& path, const std::shared_ptr<const backend::Backend>& device) {
  if (device->device() != Device::cpu) fail(ErrorKind::config, "--dump-grads: gradients are computed on the CPU (--device cpu)");
  std::vector<int64_t> targets(ids.begin() + 1, ids.end());
  targets.push_back(train::kIgnore);
  train::Batch batch{ids_tensor(ids), ids_tensor(targets), source};
  std::vector<train::Trainable> params = train::make_trainable(root);
  const train::Loss loss = train::forward_backward(root, params, batch, std::nullopt, device);
  io::NamedTensors grads;
  for (const train::Trainable& p : params) grads.emplace_back(p.name, p.grad);
  io::write_safetensors(path, grads);
  return loss.mean;
}

}  // namespace

Json run_document(const RunOptions& o, Progress& progress) {
  use_threads_and_gemm_plan(o.threads);
  models::LoadedModel lm = models::load_model(o.model);
  const nn::LanguageModel& root = *lm.model.root;
  const std::vector<int64_t> ids = parse_ids(o.ids, root.vocab_size());
  const std::vector<int64_t> src = source_ids(o.source_ids, root, lm.model.architecture, true);
  const auto T = static_cast<int64_t>(ids.size());
  root.check_positions(0, T);
  root.check_positions(0, static_cast<int64_t>(src.size()));

  const WeightChoice choice = choose_weights(lm, o.random_weights, "");
  guard_memory(lm, choice, {.tokens = T}, o.force, o.device);
  const Weights w = prepare_weights(lm, choice, o.seed, progress);
  if (o.check_tensors) require_finite_weights(lm, progress);
  const auto device = place_weights(lm, o.device, progress);

  const Tensor input = ids_tensor(ids);
  const std::optional<Tensor> source = src.empty() ? std::nullopt : std::optional(ids_tensor(src));
  const ops::Context ctx(device);
  nn::State state(1, T);
  nn::Run run(ctx, state);
  run.source_ids = source ? &*source : nullptr;
  const Tensor logits = device->to_host(root.forward_ids(run, input));  // (1, T, V)
  const int64_t V = logits.dim(-1);
  const float* last = logits.data<float>() + (T - 1) * V;
  for (int64_t i = 0; i < V; ++i)
    if (!std::isfinite(last[i])) non_finite_logits(lm, input, source ? &*source : nullptr, i, device);

  const double mx = *std::max_element(last, last + V);
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(last[i] - mx);
  std::vector<int64_t> order(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) order[i] = i;
  const auto k = std::min<int64_t>(o.top_k, V);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) { return last[a] > last[b]; });
  if (!o.dump_logits.empty()) io::write_npy(o.dump_logits, logits);

  Json top = Json::array();
  for (int64_t r = 0; r < k; ++r) {
    const int64_t id = order[r];
    top.push_back({{"id", id}, {"logit", last[id]}, {"probability", std::exp(last[id] - mx) / sum}});
  }
  Json d = {{"schema", "anatomy.run/2"}, {"model", o.model}, {"architecture", lm.model.architecture},
          {"weights", w.description}, {"synthetic_weights", w.synthetic}, {"device", o.device},
          {"config_defaults", {{"used", lm.model.config["defaults_used"]}, {"from", lm.model.config["defaults_from"]}}},
          {"ids", ids}, {"source_ids", src},
          {"position", T - 1}, {"top", top}};
  // With --dump-grads: the mean next-token cross-entropy over the ids, whose gradients were written.
  if (!o.dump_grads.empty()) d["loss"] = dump_gradients(root, ids, source, o.dump_grads, device);
  return d;
}

std::string run_command(const RunOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const Json d = run_document(o, progress);
  if (f == Format::json) return d.dump(2) + "\n";
  const auto R = Table::Align::right;
  Table t({"rank", "token id", "logit", "probability"}, {R, R, R, R});
  int rank = 0;
  for (const auto& e : d["top"])
    t.add({std::to_string(++rank), std::to_string(e["id"].get<int64_t>()), fmt::format("{:.6f}", e["logit"].get<double>()),
           fmt::format("{:.6f}", e["probability"].get<double>())});
  const io::ordered_json defaults = {{"defaults_used", d["config_defaults"]["used"]}, {"defaults_from", d["config_defaults"]["from"]}};
  return fmt::format("{} ({}), weights: {}\n{}ids: {}\n", o.model, d["architecture"].get<std::string>(),
                     d["weights"].get<std::string>(), defaults_line(defaults), o.ids) +
         heading(fmt::format("Next token after position {}: top {}", d["position"].get<int64_t>(), rank), f) + t.render(f);
}

}  // namespace anatomy::cli
