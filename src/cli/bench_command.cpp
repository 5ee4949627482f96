// `anatomy bench MODEL`: llama-bench-style speed figures — prefill tok/s for each -p length, decode
// tok/s for -n tokens, per-token latency, time to first token, peak RSS — and with --scaling the
// forward time against sequence length plus a stated generation workload (sequences per second).
// Every figure: `warmup` untimed runs, then `repeat` timed ones. anatomy.bench/1 (docs/bench.md).
#include <sys/resource.h>

#include <fmt/format.h>

#include "analysis/device.h"
#include "backend/device.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/weights.h"
#include "core/error.h"
#include "inference/speed.h"

namespace anatomy::cli {

namespace {

using Json = io::ordered_json;

Json spread(const inference::Spread& s) {
  return {{"mean_s", s.mean}, {"stdev_s", s.stdev}, {"median_s", s.median}, {"p90_s", s.p90}, {"runs_s", s.seconds}};
}

uint64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

}  // namespace

io::ordered_json bench_document(const BenchOptions& o, Progress& progress) {
  use_threads_and_gemm_plan(o.threads);
  models::LoadedModel lm = models::load_model(o.model);
  const nn::LanguageModel& root = *lm.model.root;
  int64_t longest = o.decode_tokens;
  for (const int64_t p : o.prefill) longest = std::max(longest, p);
  for (const int64_t p : o.scaling) longest = std::max(longest, p);
  if (o.workload.size() == 3) longest = std::max(longest, o.workload[0] + o.workload[1]);
  root.check_positions(0, longest);
  const WeightChoice choice = choose_weights(lm, o.random_weights, o.dtype);
  guard_memory(lm, choice, {.batch = o.batch, .tokens = longest}, o.force, o.device);
  const Weights w = prepare_weights(lm, choice, o.seed, progress);
  const auto device = place_weights(lm, o.device, progress);

  const analysis::Processor cpu = analysis::detect_processor();
  Json d = {{"schema", "anatomy.bench/1"}, {"model", o.model}, {"architecture", lm.model.architecture},
            {"weights", w.description}, {"dtype", dtype_name(w.dtype)}, {"batch", o.batch},
            {"machine", {{"cpu", cpu.model}, {"logical_cpus", cpu.logical_cpus}, {"isa", cpu.isa}, {"kernel_isa", backend::kernel_isa()}}},
            {"device", o.device},
            {"threads", backend::threads()}, {"build", {{"version", kVersion}, {"type", ANATOMY_BUILD_TYPE}}},
            {"warmup", o.warmup}, {"repeat", o.repeat}};
  if (o.device == "cuda") d["machine"]["gpu"] = backend::gpu_info().name;
  const int64_t tests = static_cast<int64_t>(o.prefill.size() + o.scaling.size()) + (o.decode_tokens > 0) + (o.workload.size() == 3);
  ProgressTask task(progress, "benchmark", static_cast<uint64_t>(tests));
  int64_t done = 0;
  Json prefill = Json::array();
  for (const int64_t t : o.prefill) {
    const auto s = inference::measure_prefill(lm.model, t, o.batch, o.warmup, o.repeat, device);
    prefill.push_back({{"tokens", t}, {"batch", o.batch}, {"tok_per_s", static_cast<double>(t * o.batch) / s.time.median},
                       {"time_to_first_token_s", s.time.median}, {"time", spread(s.time)}});
    task.update(static_cast<uint64_t>(++done));
  }
  d["prefill"] = prefill;
  if (o.decode_tokens > 0) {
    const auto s = inference::measure_decode(lm.model, o.decode_tokens, o.batch, o.warmup, o.repeat, device);
    d["decode"] = {{"tokens", o.decode_tokens}, {"batch", o.batch},
                   {"tok_per_s", static_cast<double>(o.decode_tokens * o.batch) / s.time.median},
                   {"latency_median_ms", s.latency.median * 1e3}, {"latency_p90_ms", s.latency.p90 * 1e3},
                   {"cache", s.cache}, {"launch", s.launch}, {"time", spread(s.time)}};
    task.update(static_cast<uint64_t>(++done));
  }
  if (!o.scaling.empty()) {
    Json rows = Json::array();
    for (const int64_t t : o.scaling) {
      const auto s = inference::measure_prefill(lm.model, t, o.batch, o.warmup, o.repeat, device);
      rows.push_back({{"tokens", t}, {"forward_s", s.time.median}, {"tok_per_s", static_cast<double>(t * o.batch) / s.time.median},
                      {"time", spread(s.time)}});
      task.update(static_cast<uint64_t>(++done));
    }
    d["scaling"] = rows;
  }
  if (o.workload.size() == 3) {
    const auto s = inference::measure_workload(lm.model, o.workload[0], o.workload[1], o.workload[2], o.warmup, o.repeat, device);
    d["workload"] = {{"prompt_tokens", s.prompt}, {"new_tokens", s.new_tokens}, {"batch", s.batch},
                     {"sampling", "greedy"}, {"latency_s", s.time.median},
                     {"sequences_per_s", static_cast<double>(s.batch) / s.time.median}, {"time", spread(s.time)}};
    task.update(static_cast<uint64_t>(++done));
  }
  d["peak_rss_bytes"] = peak_rss_bytes();
  d["prepared_weight_bytes"] = backend::prepared_weight_bytes();
  if (o.device != "cuda") d["gemm_paths"] = analysis::gemm_plan_json(backend::gemm_plan());
  return d;
}

std::string bench_command(const BenchOptions& o, Progress& progress) {
  const Json d = bench_document(o, progress);
  const Format f = parse_format(o.format);
  if (f == Format::json) return d.dump(2) + "\n";
  Table t({"test", "tok/s", "mean ± stdev", "median", "notes"},
          {Table::Align::left, Table::Align::right, Table::Align::right, Table::Align::right, Table::Align::left});
  const auto ms = [](double s) { return fmt::format("{:.2f} ms", s * 1e3); };
  for (const auto& p : d["prefill"])
    t.add({fmt::format("pp{}", p["tokens"].get<int64_t>()), fmt::format("{:.2f}", p["tok_per_s"].get<double>()),
           fmt::format("{} ± {}", ms(p["time"]["mean_s"]), ms(p["time"]["stdev_s"])), ms(p["time"]["median_s"]),
           "time to first token = the median"});
  if (d.contains("decode")) {
    const auto& g = d["decode"];
    t.add({fmt::format("tg{}", g["tokens"].get<int64_t>()), fmt::format("{:.2f}", g["tok_per_s"].get<double>()),
           fmt::format("{} ± {}", ms(g["time"]["mean_s"]), ms(g["time"]["stdev_s"])), ms(g["time"]["median_s"]),
           fmt::format("per token: median {:.2f} ms, p90 {:.2f} ms", g["latency_median_ms"].get<double>(), g["latency_p90_ms"].get<double>())});
  }
  std::string out = t.render(f);
  if (d.contains("scaling")) {
    Table s({"tokens", "forward", "tok/s"}, {Table::Align::right, Table::Align::right, Table::Align::right});
    for (const auto& r : d["scaling"])
      s.add({std::to_string(r["tokens"].get<int64_t>()), ms(r["forward_s"]), fmt::format("{:.2f}", r["tok_per_s"].get<double>())});
    out += '\n';
    out += heading("forward time against sequence length", f);
    out += s.render(f);
  }
  if (d.contains("workload")) {
    const auto& w = d["workload"];
    out += fmt::format("\nworkload: {} prompt tokens, {} new tokens (greedy), batch {}: {:.2f} ms per sequence batch, {:.2f} sequences/s\n",
                       w["prompt_tokens"].get<int64_t>(), w["new_tokens"].get<int64_t>(), w["batch"].get<int64_t>(),
                       w["latency_s"].get<double>() * 1e3, w["sequences_per_s"].get<double>());
  }
  out += fmt::format("\n{} · {} threads · {} · {} warm-up + {} timed runs each (medians) · peak RSS {}\n",
                     d["machine"]["cpu"].get<std::string>(), d["threads"].get<int>(), d["weights"].get<std::string>(),
                     o.warmup, o.repeat, short_bytes(d["peak_rss_bytes"].get<uint64_t>()));
  if (const auto prepared = d["prepared_weight_bytes"].get<uint64_t>(); prepared > 0)
    out += fmt::format("Weights ran through copies made once for their kernels ({}: prefill's f32 copies and panels, "
                       "decode's panel form of half-precision weights).\n",
                       short_bytes(prepared));
  if (d.contains("gemm_paths")) out += fmt::format("Prefill GEMM paths: {}.\n", d["gemm_paths"]["source"].get<std::string>());
  return out;
}

}  // namespace anatomy::cli
