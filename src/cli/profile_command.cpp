// `anatomy profile MODEL`: where the time of a forward pass goes, module by module, next to the
// FLOPs and bytes each module executed and the measured ceilings of this machine. The tables are
// rendered from the JSON document alone, so every format shows the same figures.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "analysis/device.h"
#include "analysis/profile.h"
#include "backend/device.h"
#include "cli/commands.h"
#include "cli/ids.h"
#include "cli/render.h"
#include "cli/weights.h"
#include "core/error.h"

namespace anatomy::cli {
namespace {

using Json = io::ordered_json;
constexpr auto R = Table::Align::right, L = Table::Align::left;

std::string ms(double v) { return fmt::format("{:.3f}", v); }
std::string pct(double v) { return fmt::format("{:.1f}", v); }

// "-0.8 % (paired median; p10 -2.1 %, p90 +1.3 %): within the noise of the paired passes"
std::string overhead(const Json& t) {
  const Json& sp = t["overhead_spread_pct"];
  std::string s = fmt::format("{:+.2f}% (median of paired instrumented/plain passes, interleaved; p10 {:+.2f}%, p90 {:+.2f}%)",
                              t["overhead_pct"].get<double>(), sp["p10"].get<double>(), sp["p90"].get<double>());
  if (t["overhead_within_noise"].get<bool>())
    s += t["overhead_pct"].get<double>() < 0
             ? ": negative as measured, and within the spread of the pairs — the profiler's cost is below this run's noise"
             : ": within the spread of the pairs — the profiler's cost is below this run's noise";
  return s;
}

std::string summary(const Json& d, Format f) {
  const Json& t = d["timing"];
  const Json& fw = t["forward_ms"];
  const Json& c = d["ceilings"];
  std::string s = heading("Timing", f);
  s += fmt::format("- load: {} ms; first forward (cold caches, excluded): {} ms\n", ms(t["load_ms"]), ms(t["first_forward_ms"]));
  if (d["options"]["context"].get<int64_t>() > 0)
    s += fmt::format("- context prefill of {} tokens (setup, not profiled): {} ms\n", d["options"]["context"].get<int64_t>(),
                     ms(t["context_prefill_ms"]));
  s += fmt::format("- forward: median {} ms (p10 {}, p90 {}, spread {}%) over {} passes after {} warm-up passes; {:.1f} tokens/s\n",
                   ms(fw["median"]), ms(fw["p10"]), ms(fw["p90"]), pct(fw["spread_pct"]), d["options"]["repeat"].get<int>(),
                   d["options"]["warmup"].get<int>(), t["tokens_per_s"].get<double>());
  s += fmt::format("- profiler overhead: {}; instrumented median {} ms\n", overhead(t), ms(t["instrumented_ms"]["median"]));
  s += fmt::format("- sum of module self times: {} ms, {:+.2f}% from the forward time\n", ms(t["sum_of_self_ms"]),
                   t["sum_error_pct"].get<double>());
  const Unit rate = flop_rate_unit(d["flops"]["gflops_per_s"].get<double>() * 1e9);
  s += fmt::format("- achieved: {} {} = {}% of the {} peak\n\n", rate.cell(d["flops"]["gflops_per_s"].get<double>() * 1e9), rate.name,
                   pct(d["flops"]["pct_of_peak"]), c["gemm"].get<std::string>());
  s += heading("Ceilings", f);
  s += fmt::format("- compute: {:.1f} GFLOP/s, {}\n- memory: {:.1f} GB/s read\n- balance: {:.1f} FLOP/byte (below it a module is memory-bound)\n",
                   c["gemm_gflops_per_s"].get<double>(), c["gemm"].get<std::string>(), c["memory_read_gb_per_s"].get<double>(),
                   c["balance_flops_per_byte"].get<double>());
  s += fmt::format("- source: {} on {}{}\n\n", c["source"].get<std::string>(), c["processor"].get<std::string>(),
                   c["cache_file"].get<std::string>().empty() ? "" : ", cached in " + c["cache_file"].get<std::string>());
  return s;
}

std::string class_table(const Json& d, Format f) {
  const Json& by = d["flops"]["by_class"];
  double all = 0;
  for (const auto& [k, v] : by.items()) all += v.get<double>();
  const Unit u = flop_unit(all);
  Table t({"class", u.name, "share %"}, {L, R, R});
  for (const auto& [k, v] : by.items()) t.add({k, u.cell(v), pct(all > 0 ? 100.0 * v.get<double>() / all : 0)});
  t.add({"total", u.cell(all), "100.0"});
  return heading("FLOPs by class (executed in one pass)", f) + t.render(f) + "\n";
}

std::string block_table(const Json& d, Format f) {
  if (d["blocks"].empty()) return "";
  double most = 0, fastest = 0;
  for (const auto& b : d["blocks"]) {
    most = std::max(most, b["flops"].get<double>());
    fastest = std::max(fastest, b["gflops_per_s"].get<double>() * 1e9);
  }
  const Unit u = flop_unit(most), rate = flop_rate_unit(fastest);
  const std::string short_name = u.name.substr(0, u.name.size() - 3);  // "GF", "MF", "kF", "F"
  Table t({"#", "block", "kind", "ms", "% fwd", "linear " + short_name, "attn " + short_name, "ssm " + short_name,
           "conv " + short_name, "other " + short_name, rate.name, "% peak", "bound", "% ceiling"},
          {R, L, L, R, R, R, R, R, R, R, R, R, L, R});
  for (const auto& b : d["blocks"]) {
    const Json& c = b["flops_by_class"];
    const double main = c["linear"].get<double>() + c["attention"].get<double>() + c["ssm"].get<double>() + c["conv"].get<double>();
    t.add({std::to_string(b["index"].get<int>()), b["path"], b["kind"], ms(b["ms"]), pct(b["pct_of_forward"]),
           u.cell(c["linear"]), u.cell(c["attention"]), u.cell(c["ssm"]), u.cell(c["conv"]), u.cell(b["flops"].get<double>() - main),
           rate.cell(b["gflops_per_s"].get<double>() * 1e9), pct(b["pct_of_peak"]), b["bound"],
           pct(b["pct_of_ceiling"])});
  }
  return heading("Blocks (inclusive time, median)", f) + t.render(f) + "\n";
}

std::string type_table(const Json& d, Format f) {
  Table t({"type", "calls/pass", "self ms", "% fwd", "inclusive ms", "mean inclusive ms"}, {L, R, R, R, R, R});
  for (const auto& r : d["types"])
    t.add({r["type"], std::to_string(r["calls_per_pass"].get<int>()), ms(r["self_ms"]), pct(r["self_pct_of_forward"]),
           ms(r["inclusive_ms"]), ms(r["mean_inclusive_ms"])});
  return heading("Time by module type (one pass)", f) + t.render(f) + "\n";
}

std::string slowest_table(const Json& d, size_t top, Format f) {
  std::vector<const Json*> rows;
  for (const auto& m : d["modules"]) rows.push_back(&m);
  std::stable_sort(rows.begin(), rows.end(), [](const Json* a, const Json* b) {
    return (*a)["self_ms"].get<double>() > (*b)["self_ms"].get<double>();
  });
  rows.resize(std::min(rows.size(), top));
  double most = 0, fastest = 0;
  for (const Json* m : rows) {
    most = std::max(most, (*m)["self_flops"].get<double>());
    fastest = std::max(fastest, (*m)["self_gflops_per_s"].get<double>() * 1e9);
  }
  const Unit u = flop_unit(most), rate = flop_rate_unit(fastest);
  Table t({"module", "type", "calls", "self ms", u.name, rate.name, "GB/s", "bound", "% ceiling"}, {L, L, R, R, R, R, R, L, R});
  for (const Json* m : rows)
    t.add({(*m)["path"].get<std::string>().empty() ? "(root)" : (*m)["path"].get<std::string>(), (*m)["type"],
           std::to_string((*m)["calls"].get<int>()), ms((*m)["self_ms"]), u.cell((*m)["self_flops"]),
           rate.cell((*m)["self_gflops_per_s"].get<double>() * 1e9), fmt::format("{:.1f}", (*m)["self_gb_per_s"].get<double>()),
           (*m)["bound"], pct((*m)["pct_of_ceiling"])});
  return heading(fmt::format("Slowest {} modules by self time", rows.size()), f) + t.render(f);
}

}  // namespace

Json profile_document(const ProfileOptions& o, Progress& progress) {
  if (o.decode && o.tokens > 0) fail(ErrorKind::config, "--decode profiles one new token: leave out --tokens");
  backend::set_threads(o.threads);
  const auto t0 = std::chrono::steady_clock::now();
  models::LoadedModel lm = models::load_model(o.model);
  const nn::LanguageModel& root = *lm.model.root;
  analysis::ProfileOptions po;
  po.batch = o.batch;
  po.tokens = o.decode ? 1 : o.tokens;
  // The default prefill: 128 tokens, or what the model's context leaves (at least one, so that an
  // exhausted context is refused by the check below).
  if (po.tokens == 0)
    po.tokens = root.max_positions() > 0 ? std::clamp<int64_t>(root.max_positions() - o.context, 1, 128) : 128;
  po.decode = o.decode;
  po.context = o.context;
  po.warmup = o.warmup;
  po.repeat = o.repeat;
  po.source_ids = source_ids(o.source_ids, root, lm.model.architecture, false);
  root.check_positions(0, static_cast<int64_t>(po.source_ids.size()));
  analysis::check_options(po);
  root.check_positions(po.context, po.tokens);  // before any weight is touched

  const WeightChoice choice = choose_weights(lm, o.random_weights, o.dtype);
  guard_memory(lm, choice, {po.batch, po.tokens, po.context, po.decode}, o.force, o.device);
  const Weights w = prepare_weights(lm, choice, o.seed, progress);
  if (o.check_tensors) require_finite_weights(lm, progress);
  po.backend = place_weights(lm, o.device, progress);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const analysis::Ceilings ceilings = o.device == "cuda" ? analysis::gpu_ceilings(false, progress)
                                                         : analysis::device_ceilings(false, progress);
  const analysis::ProfileReport report = analysis::profile_model(lm.model, po, progress);

  Json doc{{"schema", "anatomy.profile/1"}, {"model", o.model}, {"architecture", lm.model.architecture},
           {"weights", w.description}, {"synthetic_weights", w.synthetic}, {"device", o.device}};
  const Json body = analysis::profile_document(report, ceilings, w.dtype);
  for (const auto& [k, v] : body.items())
    if (k != "schema") doc[k] = v;
  doc["timing"]["load_ms"] = load_ms;
  return doc;
}

std::string profile_command(const ProfileOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const Json doc = profile_document(o, progress);
  if (f == Format::json) return doc.dump(2) + "\n";
  const Json& opt = doc["options"];
  const int64_t context = opt["context"], tokens = opt["tokens"];
  const std::string what = opt["decode"].get<bool>()
                               ? fmt::format("one decode step after {} cached tokens", context)
                               : fmt::format("prefill of {} tokens{}", tokens,
                                             context ? fmt::format(" after {} cached tokens", context) : "");
  std::string out = fmt::format("{} ({}), weights: {}\n{}, batch {}, {} threads\n\n", o.model, doc["architecture"].get<std::string>(),
                                doc["weights"].get<std::string>(), what, opt["batch"].get<int64_t>(), opt["threads"].get<int>());
  return out + summary(doc, f) + class_table(doc, f) + block_table(doc, f) + type_table(doc, f) +
         slowest_table(doc, static_cast<size_t>(o.top), f);
}

}  // namespace anatomy::cli
